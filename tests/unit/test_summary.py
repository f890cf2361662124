"""Summary mode: per-layer measurement without keeping every map, checked against full mode."""

import importlib

import numpy as np
import pytest

from bos_widget import AttentionWidget, capture, sink_report
from bos_widget.analysis import metrics
from bos_widget.transport.slices import SliceServer

from . import tiny

capture_module = importlib.import_module("bos_widget.capture.driver")

TEXT = "the quick brown fox jumps over the lazy dog and the cat sat on the mat"


@pytest.fixture(scope="module")
def tok():
    return tiny.tokenizer(add_bos=True)


@pytest.fixture(scope="module", params=["llama", "bert"])
def pair(request, tok):
    model = getattr(tiny, request.param)()
    full = capture(model, tok, TEXT, keep="all", path="eager")
    return full, capture(model, tok, TEXT, keep="summary")


def test_summary_matches_full_mode(pair):
    full, summ = pair
    assert summ.attention is None and summ.summary is not None
    assert (summ.n_layers, summ.n_heads, summ.T) == (full.n_layers, full.n_heads, full.T)
    assert summ.meta.causal == full.meta.causal
    att = full.require_attention()
    np.testing.assert_allclose(
        summ.summary.sink_scores, metrics.sink_scores(att, full.meta.causal), atol=2e-3
    )
    for layer in range(full.n_layers):
        np.testing.assert_allclose(
            summ.head_mean[layer].astype(np.float32),
            metrics.head_mean(att[layer]),
            atol=2e-3,
        )
    norm_first = metrics.first_token_scores(att, full.output_norms)
    np.testing.assert_allclose(summ.summary.norm_first, norm_first, atol=2e-3)


def test_sink_report_is_the_same_in_both_modes(pair):
    full, summ = pair
    a, b = sink_report(full).table, sink_report(summ).table
    for col in ("sink_score_0", "norm_share_0", "value_drain"):
        np.testing.assert_allclose(a[col], b[col], atol=3e-3, err_msg=col)
    assert (a["sink_head"] == b["sink_head"]).all()
    if full.meta.causal:  # raw share over q >= 1, from alpha alone in summary mode
        np.testing.assert_allclose(a["raw_share_0"], b["raw_share_0"], atol=3e-3)
    else:  # bidirectional summaries do not keep A[0, 0]: the column says it is unknown
        assert b["raw_share_0"].isna().all() and a["raw_share_0"].notna().all()


def test_summary_says_what_it_left_out_and_refuses_single_heads(pair):
    _, summ = pair
    assert "Summary mode" in summ.summary.left_out
    with pytest.raises(ValueError, match="keep='all'"):
        summ.require_attention()
    server = SliceServer(summ)
    assert server.weightings == ["raw"]
    with pytest.raises(ValueError, match="Single heads can't be shown"):
        server.reply(0, 1, "raw")
    reply, buffers = server.reply(0, -1, "raw")  # the mean of heads is served
    assert reply["kind"] == "slice" and len(buffers[0]) > 0


def test_widget_in_summary_mode_keeps_the_mean_of_heads(pair):
    _, summ = pair
    w = AttentionWidget(summ)
    assert "Summary mode" in w.meta["summary"]
    assert w.head == -1
    with pytest.raises(Exception, match="Only head=-1"):
        w.head = 0
    assert w.head == -1
    w.layer = summ.n_layers - 1  # layers still work
    assert np.allclose(np.array(w.sink_grid), summ.summary.sink_scores[..., 0], atol=1e-4)


def test_auto_keeps_everything_below_the_limit_and_summarises_above(tok, monkeypatch):
    """On the eager path; the factor path never summarises (every head stays available)."""
    model = tiny.llama()
    assert capture(model, tok, TEXT, path="eager").summary is None
    monkeypatch.setattr(capture_module, "FULL_STORE_LIMIT", 100)
    run = capture(model, tok, TEXT, path="eager")
    assert run.summary is not None and run.attention is None
    factors = capture(model, tok, TEXT)
    assert factors.summary is None and factors.meta.path == "factors"
    assert "MB" in run.summary.left_out  # a tiny model: its maps would take well under 1 GB


def test_bad_keep_and_encoder_decoder_summary_are_refused(tok):
    with pytest.raises(ValueError, match="keep must be one of"):
        capture(tiny.llama(), tok, TEXT, keep="some")
    with pytest.raises(ValueError, match="encoder-decoder"):
        capture(tiny.bart(), tok, TEXT, keep="summary")


def test_full_capture_keeps_head_means_and_serves_them(pair):
    full, _ = pair
    assert full.head_mean is not None
    att = full.require_attention()
    server = SliceServer(full)
    for layer in range(full.n_layers):
        expected = metrics.head_mean(att[layer])
        np.testing.assert_allclose(full.head_mean[layer].astype(np.float32), expected, atol=2e-3)
        np.testing.assert_allclose(server.matrix(layer, -1), expected, atol=2e-3)
