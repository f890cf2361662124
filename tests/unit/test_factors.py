"""Factor capture: slices rebuilt from q and k equal the model's own eager attention.

Each family runs twice: through ``capture`` (the model's sdpa, q and k recorded) and through
transformers' eager attention with ``output_attentions=True`` in float32, the reference.
Texts are longer than the tiny configs' sliding window, so windows bite.
"""

import importlib

import numpy as np
import pytest
import torch

from bos_widget import CaptureError, capture
from bos_widget.analysis import metrics
from bos_widget.capture.factors import BLOCK_BYTES, Rule
from bos_widget.capture.record import _fit_mask

from . import tiny

TEXT = " ".join(["the quick brown fox jumps over the lazy dog"] * 3)
TOL = 1e-3


@pytest.fixture(scope="module")
def tok():
    return tiny.tokenizer(add_bos=True)


def _eager(model, ids, **extra):
    before = model.config._attn_implementation
    model.set_attn_implementation("eager")
    try:
        with torch.inference_mode():
            return model(ids, output_attentions=True, **extra)
    finally:
        model.set_attn_implementation(before)


def _check(run, reference, causal):
    """Every head of every layer from the factors, and D1, against ``reference``."""
    L, H = run.n_layers, run.n_heads
    assert run.meta.path == "factors" and run.factors is not None
    for layer in range(L):
        ref = reference[layer][0].float().numpy()  # [H, T_q, T_k]
        for head in range(H):
            edges_q = metrics.bin_edges(0, ref.shape[1], ref.shape[1])
            edges_k = metrics.bin_edges(0, ref.shape[2], ref.shape[2])
            got = run.factors.block(layer, head, edges_q, edges_k)
            np.testing.assert_allclose(got, ref[head], atol=TOL, err_msg=f"L{layer} H{head}")
        want = metrics.sink_scores(ref, causal)
        np.testing.assert_allclose(run.measured.sink_scores[layer], want, atol=TOL)


@pytest.mark.parametrize(
    "factory", [tiny.gpt2, tiny.llama, tiny.bert, tiny.gemma2, tiny.gemma3, tiny.mistral]
)
def test_single_stack_factors_equal_eager_attention(tok, factory):
    model = factory()
    before = model.config._attn_implementation  # sdpa; eager for Gemma 2 (softcap)
    run = capture(model, tok, TEXT, path="factors")
    assert model.config._attn_implementation == before == run.meta.attn_implementation
    ids = torch.tensor([run.token_ids])
    _check(run, _eager(model, ids).attentions, run.meta.causal)
    # the recorded forward is the model's own: the residual stream matches a plain forward
    with torch.inference_mode():
        plain = model(ids, output_hidden_states=True).hidden_states
    norms = np.stack([h[0].float().norm(dim=-1).numpy() for h in plain[:-1]])
    np.testing.assert_allclose(run.hidden_norms[:-1], norms, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("factory", [tiny.t5, tiny.bart])
def test_encoder_decoder_factors_equal_eager_attention(tok, factory):
    """T5's relative position bias is recorded as a function of k - q; BART has none."""
    model = factory()
    run = capture(model, tok, TEXT, path="factors")
    enc = torch.tensor([run.token_ids])
    dec = torch.tensor([run.decoder.token_ids])
    out = _eager(model, enc, decoder_input_ids=dec)
    _check(run, out.encoder_attentions, causal=False)
    _check(run.decoder, out.decoder_attentions, causal=True)
    cross = np.stack([c[0].float().numpy() for c in out.cross_attentions])
    np.testing.assert_allclose(run.decoder.cross_attention.astype(np.float32), cross, atol=TOL)


def test_gqa_keeps_one_key_head_per_group(tok):
    run = capture(tiny.llama(), tok, TEXT, path="factors")
    f = run.factors.layers[0]
    assert f.q.shape[0] == run.n_heads and f.k.shape[0] == run.meta.n_kv_heads < run.n_heads


def test_slices_are_exact_in_blocks_pooled_and_zoomed(tok, monkeypatch):
    """Tiny blocks force many query blocks; a region and a pooled slice match the full map."""
    factors = importlib.import_module("bos_widget.capture.factors")
    monkeypatch.setattr(factors, "BLOCK_BYTES", 64)
    monkeypatch.setattr(factors, "MIN_BLOCK_ROWS", 1)
    model = tiny.mistral()
    run = capture(model, tok, TEXT, path="factors", keep="all")
    T = run.T
    for head in (-1, 2):
        for weighting in ("raw", "norm"):
            full = run.slice(1, head, weighting=weighting)  # from the maps
            bare = _without_maps(run)
            np.testing.assert_allclose(bare.slice(1, head, weighting=weighting), full, atol=TOL)
            zoom = bare.slice(1, head, queries=(5, T - 2), keys=(1, 9), weighting=weighting)
            np.testing.assert_allclose(zoom, full[5 : T - 2, 1:9], atol=TOL)
            pooled = bare.slice(1, head, weighting=weighting, bins=7, pool="mean")
            e = metrics.bin_edges(0, T, 7)
            np.testing.assert_allclose(pooled, metrics.pool(full, e, e, "mean"), atol=TOL)
    assert BLOCK_BYTES > 64  # the module constant itself was not changed


def _without_maps(run):
    import dataclasses

    return dataclasses.replace(run, attention=None)


def test_long_input_keeps_no_maps_and_says_so(tok, monkeypatch):
    """Above SMALL_MAPS_LIMIT only the factors are kept; every map is still one call away."""
    cap = importlib.import_module("bos_widget.capture.driver")
    model = tiny.llama()
    small = capture(model, tok, TEXT, path="factors")
    assert small.attention is not None
    monkeypatch.setattr(cap, "SMALL_MAPS_LIMIT", 0)
    run = capture(model, tok, TEXT, path="factors")
    assert run.attention is None and run.summary is None
    np.testing.assert_allclose(
        run.require_attention().astype(np.float32), small.attention.astype(np.float32), atol=TOL
    )
    np.testing.assert_allclose(run.sink_scores(), small.sink_scores(), atol=1e-6)


def test_float16_factors_are_close_but_say_so(tok):
    run = capture(tiny.llama(), tok, TEXT, path="factors", factor_dtype="float16", keep="all")
    assert run.factors.layers[0].q.dtype == torch.float16
    bare = _without_maps(run)
    np.testing.assert_allclose(bare.slice(0, 1), run.slice(0, 1), atol=1e-2)
    with pytest.raises(ValueError, match="factor_dtype"):
        capture(tiny.llama(), tok, TEXT, factor_dtype="int8")


def test_masks_the_rule_cannot_rebuild_are_refused():
    """Causal and sliding-window masks are read back; padding or an additive bias in the
    mask (ALiBi-style) cannot be rebuilt from q and k, so the layer is refused."""
    T = 12
    i = torch.arange(T)
    causal = (i[None, :] <= i[:, None])[None, None]
    rule = Rule(scale=1.0, causal=True)
    assert _fit_mask(rule, causal, T, T) == rule
    window = causal & (i[:, None] - i[None, :] < 4)
    assert _fit_mask(Rule(scale=1.0, causal=True, window=4), window, T, T) is not None
    assert _fit_mask(rule, window, T, T) is None  # the window was not announced
    padded = causal.clone()
    padded[..., 2] = False
    assert _fit_mask(rule, padded, T, T) is None
    alibi = torch.where(
        causal, -0.5 * (i[:, None] - i[None, :]).float(), torch.finfo(torch.float32).min
    )
    assert _fit_mask(rule, alibi, T, T) is None
    full = torch.zeros((1, 1, T, T))
    assert _fit_mask(rule, full, T, T) == Rule(scale=1.0, causal=False)


def test_a_layer_that_cannot_be_rebuilt_falls_back_to_eager_and_says_why(tok, monkeypatch):
    record = importlib.import_module("bos_widget.capture.record")
    monkeypatch.setattr(record, "_rule", lambda *a, **k: (None, "its mask carries a bias"))
    run = capture(tiny.llama(), tok, TEXT)
    assert run.meta.path == "eager" and run.factors is None and run.attention is not None
    assert "its mask carries a bias" in run.meta.path_note
    with pytest.raises(CaptureError, match="cannot be rebuilt"):
        capture(tiny.llama(), tok, TEXT, path="factors")
    with pytest.raises(ValueError, match="path must be one of"):
        capture(tiny.llama(), tok, TEXT, path="fast")


def test_factors_follow_the_device_option(tok):
    run = capture(tiny.llama(), tok, TEXT, device="cpu")
    assert run.factors.device.type == "cpu"
    run = capture(tiny.llama(), tok, TEXT, device="model")
    assert run.factors.device == next(tiny.llama().parameters()).device


@pytest.mark.parametrize("factory", [tiny.llama, tiny.bert])
def test_sink_report_from_measurements_equals_the_report_from_maps(tok, factory):
    """sink_report reads what capture measured; the same table comes out of the maps."""
    import dataclasses

    from bos_widget import sink_report

    run = capture(factory(), tok, TEXT)
    measured = sink_report(run).table
    from_maps = sink_report(dataclasses.replace(run, measured=None)).table
    cols = measured.select_dtypes("number").columns
    assert list(cols) == list(from_maps.select_dtypes("number").columns)
    np.testing.assert_allclose(
        measured[cols].to_numpy(float), from_maps[cols].to_numpy(float), atol=1e-4
    )
