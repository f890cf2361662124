"""bertviz drop-in on the real demo models: what head_view shows equals what capture measures.

MiniLM (a BERT) runs bertviz's README sentence-pair example, with its tokenizer and weights
standing in for bert-base-uncased; SmolLM2 (Llama family, byte-level tokens) runs the usual
``output_attentions=True`` recipe.
"""

from __future__ import annotations

import IPython.display
import numpy as np
import pytest
import transformers

from bos_widget import AttentionWidget, capture, head_view
from bos_widget.models import demo_path
from tests.unit.test_compat import README_SENTENCE_PAIR, run_readme


@pytest.fixture
def shown(monkeypatch):
    out: list = []
    monkeypatch.setattr(IPython.display, "display", lambda *objs, **_: out.extend(objs))
    return out


def test_minilm_sentence_pair_readme_matches_capture(minilm, shown, monkeypatch):
    model, tokenizer = minilm
    path = demo_path("minilm")
    real_model = transformers.AutoModel.from_pretrained
    real_tokenizer = transformers.AutoTokenizer.from_pretrained

    def load_model(name, output_attentions=False, **_):
        assert name == "bert-base-uncased" and output_attentions is True
        return real_model(path, attn_implementation="eager", output_attentions=True).eval()

    monkeypatch.setattr(transformers.AutoModel, "from_pretrained", load_model)
    monkeypatch.setattr(
        transformers.AutoTokenizer, "from_pretrained", lambda name, **_: real_tokenizer(path)
    )
    ns = run_readme(README_SENTENCE_PAIR)
    (w,) = shown
    assert isinstance(w, AttentionWidget)
    # [CLS] the rabbit quickly hopped [SEP] | the turtle slowly crawled [SEP]
    assert w.tokens[0] == "[CLS]" and w.meta["bos_added"] is True
    b = ns["sentence_b_start"]
    assert w.tokens[b - 1] == "[SEP]" and w.meta["segment_b_start"] == b
    run = capture(model, tokenizer, ns["sentence_a"], text_pair=ns["sentence_b"])
    assert run.meta.segment_b_start == b and w.meta["T"] == run.T
    np.testing.assert_allclose(w.run.attention, run.attention, atol=2e-3)
    w.segment = "A→B"
    assert w.segment == "A→B"


def test_smollm2_head_view_matches_capture(smollm2, shown):
    model, tokenizer = smollm2
    text = "The old lighthouse keeper climbed the stairs."
    before = model.config._attn_implementation
    model.set_attn_implementation("eager")
    try:
        ids = tokenizer.encode(text, return_tensors="pt")
        attention = model(ids, output_attentions=True).attentions
    finally:
        model.set_attn_implementation(before)
    raw = tokenizer.convert_ids_to_tokens(ids[0])
    assert head_view(attention, raw, layer=3, heads=[2]) is None
    (w,) = shown
    assert (w.layer, w.head) == (3, 2)
    assert (w.meta["n_layers"], w.meta["n_heads"]) == (30, 9)
    assert w.meta["causal"] is True and w.meta["bos_added"] is False
    assert w.tokens == [t.replace("Ġ", " ") for t in raw]  # prettify_tokens, as bertviz
    run = capture(model, tokenizer, text)
    np.testing.assert_allclose(w.run.attention, run.attention, atol=2e-3)
