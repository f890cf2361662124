"""Long inputs: slices pooled to the view's pixels, zoomed regions served exactly, the sink
scores that travel with them, the refusals (arcs, hidden sinks, bad regions) and warm-up."""

import dataclasses
import json
import re
from pathlib import Path

import numpy as np
import pytest
import traitlets

from bos_widget import AttentionWidget, capture
from bos_widget.analysis import metrics
from bos_widget.run import AttentionRun, RunMeta, SinkSummary
from bos_widget.transport import codec, slices
from bos_widget.transport.slices import MAX_CELLS, POOL_ABOVE_T, POOL_BINS, SliceServer

from . import tiny

BINS = json.loads((Path(__file__).parent.parent / "fixtures" / "bins.json").read_text())
L, H, T = 1, 2, POOL_ABOVE_T + 256  # the smallest pooled run, with an uneven bin width


def causal_softmax(rng: np.random.Generator, L: int, H: int, T: int) -> np.ndarray:
    """float16 ``[L, H, T, T]``: random logits, causal mask, rows summing to 1."""
    x = rng.standard_normal((L, H, T, T), dtype=np.float32) * 2
    x[..., 0] += 10  # a sink on position 0, as real models have
    x += np.triu(np.full((T, T), -np.inf, np.float32), 1)
    x -= x.max(-1, keepdims=True)
    np.exp(x, out=x)
    x /= x.sum(-1, keepdims=True)
    return x.astype(np.float16)


@pytest.fixture(scope="module")
def long_widget():
    att = causal_softmax(np.random.default_rng(0), L, H, T)
    return AttentionWidget.from_attentions(att, [f"t{i}" for i in range(T)], causal=True)


def sent(widget, monkeypatch) -> list[tuple[dict, list]]:
    """Record what the widget sends to the view."""
    out: list[tuple[dict, list]] = []
    monkeypatch.setattr(
        widget, "send", lambda content, buffers=None: out.append((content, buffers))
    )
    return out


@pytest.mark.parametrize("case", BINS["cases"])
def test_bin_edges_follow_the_shared_fixture(case):
    got = metrics.bin_edges(case["start"], case["stop"], case["bins"])
    assert got.tolist() == case["edges"]


def test_meta_says_pooled_and_the_view_opens_on_the_matrix(long_widget):
    assert long_widget.meta["pooled"] is True and long_widget.meta["pool_bins"] == POOL_BINS
    assert long_widget.view == "matrix"
    small = AttentionWidget(capture(tiny.llama(), tiny.tokenizer(), "a b c"))
    assert small.meta["pooled"] is False


@pytest.mark.parametrize("head", [1, -1])
def test_a_pooled_reply_is_the_max_pool_of_the_exact_slice(long_widget, head):
    reply, buffers = long_widget._server.reply(0, head, "raw")
    assert reply["queries"] == [0, T] and reply["keys"] == [0, T]
    assert reply["bins"] == POOL_BINS and reply["pool"] == "max"
    got = codec.decode(buffers[0])
    exact = long_widget.run.slice(0, head)
    edges = metrics.bin_edges(0, T, POOL_BINS)
    want = metrics.pool(exact, edges, edges, "max")
    assert got.shape == (POOL_BINS, POOL_BINS)
    np.testing.assert_allclose(got, want, atol=reply["error_bound"] + 1e-6)
    assert np.diff(edges).min() == 2 and np.diff(edges).max() == 3  # blocks of 2-3 tokens
    # the sink scores of every key travel as buffers[1]
    alpha = codec.decode(buffers[1])
    np.testing.assert_allclose(alpha, metrics.sink_scores(exact, causal=True), atol=1e-3)
    assert alpha[0] > 0.3  # the planted sink


def test_a_pooled_mean_reply_follows_the_request(long_widget):
    reply, buffers = long_widget._server.reply(
        0, 0, "raw", queries=[100, 1900], keys=[0, 1000], bins=300, pool="mean"
    )
    assert (reply["bins"], reply["pool"]) == (300, "mean")
    exact = long_widget.run.slice(0, 0, queries=(100, 1900), keys=(0, 1000))
    want = metrics.pool(
        exact, metrics.bin_edges(0, 1800, 300), metrics.bin_edges(0, 1000, 300), "mean"
    )
    np.testing.assert_allclose(codec.decode(buffers[0]), want, atol=reply["error_bound"] + 1e-6)


def test_a_zoomed_region_no_bigger_than_the_bins_is_exact(long_widget):
    q, k = [1500, 1700], [0, 150]
    reply, buffers = long_widget._server.reply(0, 1, "raw", queries=q, keys=k, bins=256)
    assert reply["bins"] is None  # every position kept
    got = codec.decode(buffers[0])
    want = long_widget.run.slice(0, 1, queries=(1500, 1700), keys=(0, 150))
    assert got.shape == (200, 150)
    np.testing.assert_allclose(got, want, atol=reply["error_bound"] + 1e-6)
    # a square block on the diagonal travels as its lower triangle, exactly
    reply, buffers = long_widget._server.reply(0, 1, "raw", queries=[40, 90], keys=[40, 90])
    assert buffers[0][7] == codec.FLAG_LOWER
    want = long_widget.run.slice(0, 1, queries=(40, 90), keys=(40, 90))
    np.testing.assert_allclose(codec.decode(buffers[0]), want, atol=reply["error_bound"] + 1e-6)


def test_pooled_requests_through_the_widget_and_the_view_stays_usable(long_widget, monkeypatch):
    out = sent(long_widget, monkeypatch)
    request = {"kind": "request", "layer": 0, "head": 1, "weighting": "raw"}
    long_widget._on_message(
        long_widget, {**request, "queries": [0, 512], "keys": [0, 512], "bins": 512}, []
    )
    content, buffers = out[-1]
    assert content["kind"] == "slice" and content["bins"] is None and len(buffers) == 2
    assert codec.decode(buffers[0]).shape == (512, 512)
    bad = [
        ({"queries": [10, 5]}, "queries must be a range"),
        ({"keys": [0, T + 1]}, f"stop <= {T}"),
        ({"keys": "all"}, "keys must be a range"),
        ({"queries": [0.5, 9]}, "range \\[start, stop\\) of integers"),
        ({"bins": 0}, "bins must be a positive integer"),
        ({"bins": "many"}, "bins must be a positive integer"),
        ({"bins": T}, f"more than the {MAX_CELLS}"),
        ({"pool": "median"}, "pool must be one of"),
    ]
    for extra, message in bad:
        long_widget._on_message(long_widget, {**request, **extra}, [])
        content, _ = out[-1]
        assert content["kind"] == "error", extra
        assert content["message"].endswith(".")
        assert re.search(message, content["message"]), content["message"]
    long_widget._on_message(long_widget, request, [])  # still answers
    assert out[-1][0]["kind"] == "slice" and out[-1][0]["bins"] == POOL_BINS


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("view", "arcs", "arcs view draws every query's arcs"),
        ("hide_sinks", True, "Hiding sinks needs every value"),
    ],
)
def test_what_needs_every_value_is_refused_with_a_sentence(long_widget, name, value, message):
    before = getattr(long_widget, name)
    with pytest.raises(traitlets.TraitError, match=message):
        setattr(long_widget, name, value)
    assert getattr(long_widget, name) == before
    with pytest.raises(traitlets.TraitError, match="max_tokens"):
        AttentionWidget(long_widget.run, view="arcs")


def test_small_inputs_answer_region_requests_too():
    run = capture(tiny.llama(), tiny.tokenizer(), "the quick brown fox jumps over the lazy dog")
    server = SliceServer(run)
    reply, buffers = server.reply(1, 2, "raw")
    assert "queries" not in reply and len(buffers) == 1  # the whole slice, as before
    reply, buffers = server.reply(1, 2, "norm", queries=[2, 9], keys=[0, 5], bins=3)
    want = run.slice(1, 2, queries=(2, 9), keys=(0, 5), weighting="norm", bins=3)
    np.testing.assert_allclose(codec.decode(buffers[0]), want, atol=reply["error_bound"] + 1e-6)
    share = metrics.norm_weighted(run.attention[1, 2], run.output_norms[1, 2])
    want_alpha = metrics.sink_scores(share, causal=True)
    np.testing.assert_allclose(codec.decode(buffers[1]), want_alpha, atol=1e-3)


def test_warm_up_at_pooled_length_encodes_pooled_slices_within_the_budget(long_widget, monkeypatch):
    run = long_widget.run
    one = len(SliceServer(run).reply(0, 0)[1][0])
    monkeypatch.setattr(slices, "WARM_BUDGET_BYTES", 2 * one)
    server = SliceServer(run)
    thread = server.warm(0, 1)
    assert thread is not None
    thread.join(timeout=60)
    keys = list(server._cache)
    assert keys[0][:2] == (0, 1)  # the view's slice first
    assert len(keys) == 2 and server._cache_bytes <= 2 * one
    assert all(k[3:] == (0, T, 0, T, POOL_BINS, "max") for k in keys)  # never a whole [T, T]
    assert one < 0.6 * POOL_BINS**2  # uint8, lower triangle


def test_an_html_export_of_a_pooled_run_is_refused_with_a_sentence(long_widget, tmp_path):
    with pytest.raises(ValueError, match="at most 2048 tokens"):
        long_widget.to_html(tmp_path / "long.html")
    assert not (tmp_path / "long.html").exists()


def test_a_factor_run_is_served_pooled_with_every_head(monkeypatch):
    """q/k factors, no stored maps: every head at any T, raw and norm-weighted."""
    monkeypatch.setattr(tiny, "MAX_POS", 4096)
    text = " ".join(["the quick brown fox jumps over the lazy dog"] * 240)
    captured = capture(tiny.llama(), tiny.tokenizer(), text, progress=False)
    run = dataclasses.replace(captured, attention=None)  # as above MAPS_LIMIT
    assert run.meta.path == "factors" and run.T > POOL_ABOVE_T and run.measured is not None
    w = AttentionWidget(run, head=2)
    assert w.meta["pooled"] and w.meta["weightings"] == ["raw", "norm"]
    np.testing.assert_allclose(w.sink_grid, run.measured.sink_scores[..., 0], atol=1e-4)
    for weighting in ("raw", "norm"):
        reply, buffers = w._server.reply(1, 2, weighting)
        edges = metrics.bin_edges(0, run.T, POOL_BINS)
        exact = run.slice(1, 2, weighting=weighting)
        want = metrics.pool(exact, edges, edges, "max")
        np.testing.assert_allclose(codec.decode(buffers[0]), want, atol=reply["error_bound"] + 1e-6)
        alpha = metrics.sink_scores(exact, causal=True)
        np.testing.assert_allclose(codec.decode(buffers[1]), alpha, atol=1e-3)


def test_a_summary_run_is_served_pooled_for_the_mean_of_heads_only():
    T = POOL_ABOVE_T + 10
    a = np.tril(np.ones((T, T), np.float32))
    a /= a.sum(-1, keepdims=True)
    scores = np.stack([metrics.sink_scores(a, causal=True)] * 2)[None]  # [1, 2, T]
    summary = SinkSummary(scores, None, None, "Only head means were kept.")
    meta = RunMeta(model="m", model_class="M", causal=True, bos_added=False, first_token="t0")
    run = AttentionRun(
        tokens=tuple(f"t{i}" for i in range(T)),
        token_ids=(),
        attention=None,
        meta=meta,
        summary=summary,
        head_mean=a[None].astype(np.float16),
    )
    server = SliceServer(run)
    reply, buffers = server.reply(0, -1, "raw")
    edges = metrics.bin_edges(0, T, POOL_BINS)
    want = metrics.pool(a, edges, edges, "max")
    np.testing.assert_allclose(codec.decode(buffers[0]), want, atol=reply["error_bound"] + 1e-3)
    with pytest.raises(ValueError, match=r"Only head means were kept\. Single heads"):
        server.reply(0, 1, "raw")


def test_save_image_of_a_pooled_run_draws_the_pooled_slice_and_says_so(long_widget, tmp_path):
    """No whole [T, T] slice is built for the image either: it is the view's max-pooled one,
    and the subtitle says so."""
    import base64
    import struct

    w = long_widget
    text = w.save_image(tmp_path / "long.svg").read_text()
    assert "max-pooled blocks of" in text
    png = base64.b64decode(re.search(r"base64,([^\"]+)\"", text).group(1))
    width, height = struct.unpack(">II", png[16:24])  # the PNG's IHDR
    assert (width, height) == (POOL_BINS, POOL_BINS) and w.run.T > POOL_ABOVE_T
