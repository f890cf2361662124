"""The three demo models: factor capture equals the model's own eager attention.

Each model runs through ``capture`` (its sdpa attention, q and k recorded) and through
transformers' eager attention with ``output_attentions=True`` (float32, the reference). The
Gemma-3 text is longer than its 512-token sliding window, so the window bites.
"""

import numpy as np
import pytest
import torch

from bos_widget import capture
from bos_widget.analysis import metrics
from bos_widget.corpus import load_corpus

TOL = 1e-3
TEXT = " ".join(load_corpus())


def _eager_attentions(model, ids):
    before = model.config._attn_implementation
    model.set_attn_implementation("eager")
    try:
        with torch.inference_mode():
            return model(ids, output_attentions=True).attentions
    finally:
        model.set_attn_implementation(before)


@pytest.mark.parametrize(("name", "T"), [("smollm2", 300), ("gemma3", 600), ("minilm", 256)])
def test_demo_model_slices_from_factors_equal_eager_attention(request, name, T):
    model, tok = request.getfixturevalue(name)
    run = capture(model, tok, TEXT, max_tokens=T, keep="auto", progress=False)
    assert run.meta.path == "factors" and run.T == T
    ref = _eager_attentions(model, torch.tensor([run.token_ids]))
    worst = 0.0
    for layer in range(run.n_layers):
        want = ref[layer][0].float().numpy()  # [H, T, T]
        edges = metrics.bin_edges(0, T, T)
        for head in range(run.n_heads):
            got = run.factors.block(layer, head, edges, edges)
            worst = max(worst, float(np.abs(got - want[head]).max()))
        np.testing.assert_allclose(
            run.sink_scores()[layer], metrics.sink_scores(want, run.meta.causal), atol=TOL
        )
    assert worst <= TOL, f"{name}: max abs difference {worst:.2e}"
