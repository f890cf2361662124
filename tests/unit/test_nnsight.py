"""The nnsight recipe of the README, run against a real nnsight install on a tiny Llama built
in code: save every attention module's weights inside ``model.trace`` and hand the list to
``AttentionWidget.from_attentions``. With an intervention in the same trace, the widget shows
the intervened forward pass."""

import numpy as np
import pytest

pytest.importorskip("nnsight", reason="nnsight is not installed (pip install 'bos_widget[lens]')")
import nnsight
import torch

from bos_widget import AttentionWidget

from . import tiny


@pytest.fixture(scope="module")
def setup():
    hf = tiny.llama()  # 4 query heads sharing 2 key/value heads
    hf.set_attn_implementation("eager")  # sdpa returns no attention weights
    tok = tiny.tokenizer()
    ids = tok("the cat sat on the mat", return_tensors="pt")["input_ids"]
    with torch.no_grad():
        reference = hf(ids, output_attentions=True).attentions
    return nnsight.NNsight(hf), tok, ids, reference


def test_recipe_maps_equal_the_models_attention(setup):
    model, tok, ids, reference = setup
    maps = []
    with torch.no_grad(), model.trace(ids):
        for layer in model.model.layers:  # a for loop: the list is filled when the trace ends
            maps.append(layer.self_attn.output[1].save())  # [1, H, T, T]
    tokens = tok.convert_ids_to_tokens(ids[0].tolist())
    run = AttentionWidget.from_attentions(maps, tokens, model="tiny-llama").run
    assert run.n_layers == len(reference) and run.tokens[0] == "<bos>"
    for l, ref in enumerate(reference):
        np.testing.assert_allclose(run.attention[l].astype(np.float32), ref[0].numpy(), atol=1e-3)
    np.testing.assert_allclose(run.attention.astype(np.float32).sum(-1), 1, atol=2e-3)
    assert run.meta.causal


def test_recipe_shows_an_intervened_pass(setup):
    model, tok, ids, reference = setup
    maps = []
    with torch.no_grad(), model.trace(ids):
        model.model.layers[0].self_attn.output[0][:] = 0  # ablate layer 0's attention output
        for layer in model.model.layers:
            maps.append(layer.self_attn.output[1].save())
    run = AttentionWidget.from_attentions(maps, tok.convert_ids_to_tokens(ids[0].tolist())).run
    np.testing.assert_allclose(run.attention[0].astype(np.float32), reference[0][0], atol=1e-3)
    assert np.abs(run.attention[1].astype(np.float32) - reference[1][0].numpy()).max() > 1e-3


def test_sdpa_trace_says_to_switch_to_eager():
    hf = tiny.llama()
    hf.set_attn_implementation("sdpa")
    model = nnsight.NNsight(hf)
    ids = tiny.tokenizer()("the cat sat", return_tensors="pt")["input_ids"]
    maps = []
    with torch.no_grad(), model.trace(ids):
        for layer in model.model.layers:
            maps.append(layer.self_attn.output[1].save())
    with pytest.raises(TypeError, match=r"hold None.*set_attn_implementation\('eager'\)"):
        AttentionWidget.from_attentions(maps, ["<bos>", "the", "cat", "sat"])
