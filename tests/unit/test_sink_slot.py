"""Learned sink logits (SCIENCE.md D13) on a tiny gpt-oss built in code: p_sink captured by
both capture paths, shown as a "sink slot" that is never renormalised away, counted in the
sink metrics as a key of its own, and served with every slice."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bos_widget.analysis import metrics
from bos_widget.analysis.report import sink_report
from bos_widget.capture.driver import capture
from bos_widget.transport import codec
from bos_widget.transport.slices import SliceServer

from . import tiny
from .tiny_gptoss import gpt_oss

TEXT = "the cat sat on the mat and ran to the house"


@pytest.fixture(scope="module")
def model():
    return gpt_oss()


@pytest.fixture(scope="module")
def tok():
    return tiny.tokenizer()


@pytest.fixture(scope="module")
def eager_weights(model, tok):
    """transformers' own eager attention weights, float32 ``[L, H, T, T]``."""
    with torch.no_grad():
        out = model(**tok(TEXT, return_tensors="pt"), output_attentions=True)
    return np.stack([a[0].numpy() for a in out.attentions])


@pytest.fixture(scope="module")
def runs(model, tok):
    return {p: capture(model, tok, TEXT, path=p) for p in ("factors", "eager")}


def test_eager_attention_drops_the_sink_column(eager_weights):
    # what the issue says transformers does: rows sum to 1 - p_sink < 1
    sums = eager_weights.sum(-1)
    assert sums.max() < 0.999
    assert sums.min() > 0.0


@pytest.mark.parametrize("path", ["factors", "eager"])
def test_slot_is_the_mass_eager_attention_leaves_out(runs, eager_weights, path):
    run = runs[path]
    assert run.meta.path == path
    assert run.sink_slot is not None and run.sink_slot.shape == (2, 4, run.T)
    np.testing.assert_allclose(run.sink_slot, 1 - eager_weights.sum(-1), atol=1e-5)


def test_both_paths_agree_on_p_sink(runs):
    np.testing.assert_allclose(runs["factors"].sink_slot, runs["eager"].sink_slot, atol=1e-5)


def test_rows_are_never_renormalised(runs):
    run = runs["factors"]
    for layer in range(run.n_layers):
        for head in (-1, 0, 3):
            rows = run.slice(layer, head).sum(-1)
            slot = run.slot(layer, head)
            assert slot is not None
            np.testing.assert_allclose(rows + slot, 1.0, atol=2e-3)  # float16 maps
            assert rows.min() < 0.99
    # exact from the float32 factors
    f = run.factors.layers[1]
    p = f.rows(torch.arange(4), 0, run.T).numpy()
    np.testing.assert_allclose(p.sum(-1) + run.sink_slot[1], 1.0, atol=1e-5)


def test_larger_sink_logit_takes_more_mass(runs):
    slot = runs["factors"].slot_scores()
    assert slot is not None
    # SINK_LOGITS rise with the head index: so does the slot's share, in both layers
    assert np.all(np.diff(slot, axis=-1) > 0)


def test_slot_score_is_the_mean_over_every_query():
    p = np.array([[[0.1, 0.5, 0.9], [0.0, 0.0, 0.3]]], np.float32)  # [L=1, H=2, T=3]
    np.testing.assert_allclose(metrics.slot_scores(p), [[0.5, 0.1]], rtol=1e-6)


def test_report_counts_the_slot_as_its_own_key(runs):
    run = runs["factors"]
    rep = sink_report(run, eps=0.3)
    slot = run.slot_scores()
    np.testing.assert_allclose(rep.table["slot_score"], slot.ravel())
    assert list(rep.table["slot_sink"]) == list((slot > 0.3).ravel())
    assert "sink slot (not a token)" in rep.summary
    assert f"in {int((slot > 0.3).sum())} of 8 heads" in rep.summary
    # tokens' scores are unchanged: the slot is not a token
    np.testing.assert_allclose(rep.table["sink_score_0"], run.sink_scores()[..., 0].ravel())


def test_whole_slice_reply_carries_the_slot(runs):
    run = runs["factors"]
    server = SliceServer(run)
    for head in (-1, 2):
        reply, buffers = server.reply(1, head)
        assert reply["sink_slot"] == 1 and len(buffers) == 2
        got = codec.decode(buffers[1])
        np.testing.assert_allclose(got, run.slot(1, head), atol=1e-3)
        alpha = run.slot_scores()[1]
        want = alpha.mean() if head == -1 else alpha[head]
        assert reply["slot_alpha"] == pytest.approx(want, abs=1e-4)
        rows = codec.decode(buffers[0]).sum(-1)
        np.testing.assert_allclose(rows + got, 1.0, atol=3e-3)


def test_region_reply_pools_the_slot_like_its_rows(runs):
    run = runs["factors"]
    reply, buffers = SliceServer(run).reply(0, 3, queries=[2, 10], keys=[0, 8], bins=4)
    assert reply["sink_slot"] == 2 and len(buffers) == 3  # slice, key scores, slot
    got = codec.decode(buffers[2])
    full = run.sink_slot[0, 3, 2:10]
    np.testing.assert_allclose(got, full.reshape(4, 2).max(-1), atol=1e-3)


def test_norm_weighted_slot_hands_nothing_out(runs):
    run = runs["factors"]
    reply, buffers = SliceServer(run).reply(1, 0, "norm")
    assert reply["slot_alpha"] == 0.0
    assert not codec.decode(buffers[reply["sink_slot"]]).any()


def test_summary_mode_keeps_the_slot(model, tok, runs):
    run = capture(model, tok, TEXT, keep="summary")
    assert run.summary is not None
    np.testing.assert_allclose(run.sink_slot, runs["factors"].sink_slot, atol=1e-5)


def test_models_without_learned_sinks_have_no_slot(tok):
    run = capture(tiny.llama(), tok, TEXT)
    assert run.sink_slot is None and run.slot(0) is None and run.slot_scores() is None
    reply, buffers = SliceServer(run).reply(0, -1)
    assert "sink_slot" not in reply and len(buffers) == 1
    assert "slot_score" not in sink_report(run).table


def test_slot_shape_is_checked(runs):
    import dataclasses

    with pytest.raises(ValueError, match="sink_slot must have shape"):
        dataclasses.replace(runs["factors"], sink_slot=np.zeros((2, 4, 3), np.float32))


def test_widget_snapshot_and_export_carry_the_slot(runs):
    import base64

    from bos_widget.export import page as export
    from bos_widget.transport.snapshot import snapshot
    from bos_widget.views.widget import AttentionWidget

    run = runs["factors"]
    w = AttentionWidget(run, layer=1, head=3)
    assert w.meta["sink_slot"] is True
    snap = snapshot(w._server, 1, 3, "raw")
    assert snap is not None and snap["reply"]["sink_slot"] == 1
    got = codec.decode(base64.b64decode(snap["slot"]))
    np.testing.assert_allclose(got, run.sink_slot[1, 3], atol=1e-3)
    page = export.page_data(
        w.run, export.widget_state(w), layers=[1], heads=[3], weightings=["raw"]
    )
    one = page["slices"]["1|3|raw"]
    assert one["reply"]["sink_slot"] == 1
    np.testing.assert_allclose(codec.decode(base64.b64decode(one["slot"])), got)
    plain = AttentionWidget(capture(tiny.llama(), tiny.tokenizer(), TEXT))
    assert plain.meta["sink_slot"] is False
    assert "slot" not in (snapshot(plain._server, 0, -1, "raw") or {"slot": 1})


def test_static_figure_names_the_slot(runs):
    from bos_widget.export.figure import spec_of
    from bos_widget.export.page import widget_state
    from bos_widget.views.widget import AttentionWidget

    run = runs["factors"]
    w = AttentionWidget(run, layer=1, head=3)
    spec = spec_of(run, widget_state(w))
    alpha = run.slot_scores()[1, 3]
    assert f"sink slot (learned sink logit, not a token, not drawn): α = {alpha:.2f}" in (
        spec.subtitle
    )
    assert "rows sum to 1 − p_sink" in spec.subtitle
