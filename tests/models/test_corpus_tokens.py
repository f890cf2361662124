"""Every corpus text is at least 64 tokens on the demo models' tokenizers (no forward pass)."""

import pytest

from bos_widget.corpus import load_corpus

MIN_TOKENS = 64


@pytest.mark.parametrize("fixture", ["smollm2", "minilm"])
def test_every_text_has_at_least_64_tokens(fixture, request):
    _, tokenizer = request.getfixturevalue(fixture)
    lengths = [len(tokenizer(text)["input_ids"]) for text in load_corpus()]
    short = [(i, n) for i, n in enumerate(lengths) if n < MIN_TOKENS]
    assert not short, f"{fixture}: texts (index, tokens) under {MIN_TOKENS}: {short}"
