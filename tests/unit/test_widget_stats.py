"""Slice replies carry the per-token stats of their (layer, head); hide_sinks and label traits."""

import dataclasses

import numpy as np
import pytest
import traitlets

from bos_widget import AttentionWidget, capture
from bos_widget.analysis import metrics
from bos_widget.transport import codec
from bos_widget.transport.slices import SliceServer, round_sig

from . import tiny

TEXT = "the quick brown fox jumps over the lazy dog"


@pytest.fixture(scope="module")
def run():
    return capture(tiny.llama(), tiny.tokenizer(), TEXT)


@pytest.fixture(scope="module")
def massive_run(run):
    """The tiny run with a planted massive activation on token 0 after layers 1 and 2."""
    L1, T = run.n_layers + 1, run.T
    max_abs = np.full((L1, T), 3.0, dtype=np.float32)
    max_abs[2:, 0] = 5000.0  # > 100 and > 1000 x median 2
    max_abs[1, 3] = 150.0  # > 100 but only 75 x the median: not massive
    median = np.full(L1, 2.0, dtype=np.float32)
    return dataclasses.replace(run, hidden_max_abs=max_abs, hidden_median_abs=median)


def test_round_sig_keeps_four_significant_digits():
    assert round_sig(np.array([22552.041, 0.000123456, 1.0, 0.0])) == [22550.0, 0.0001235, 1.0, 0.0]


@pytest.mark.parametrize(("layer", "head"), [(0, -1), (1, 2), (2, 0)])
def test_reply_stats_match_the_run_arrays(run, layer, head):
    content, buffers = SliceServer(run).reply(layer, head, "norm")
    assert content["kind"] == "slice" and content["weighting"] == "norm"
    assert (content["layer"], content["head"]) == (layer, head)
    np.testing.assert_allclose(
        codec.decode(buffers[0]), SliceServer(run).matrix(layer, head, "norm"), atol=1e-3
    )
    stats = content["stats"]
    assert stats is not None and run.hidden_norms is not None and run.value_norms is not None
    np.testing.assert_allclose(stats["hidden_norm"], run.hidden_norms[layer + 1], rtol=1e-3)
    assert len(stats["hidden_norm"]) == run.T
    v = run.value_norms[layer]
    want = v.mean(axis=0) if head == -1 else v[head]
    np.testing.assert_allclose(stats["value_norm"] or [], want, rtol=1e-3)
    # the widget's state never holds them: they arrive with each slice only
    assert "value_norms" not in str(AttentionWidget(run).get_state().keys())


def test_reply_stats_flag_massive_tokens_as_metrics_does(massive_run):
    server = SliceServer(massive_run)
    flags = metrics.massive_activations(massive_run.hidden_max_abs, massive_run.hidden_median_abs)
    assert flags[2:, 0].all() and not flags[:2].any()
    for layer in range(massive_run.n_layers):
        stats = server.reply(layer, -1, "raw")[0]["stats"]
        assert stats is not None
        assert stats["massive"] == np.flatnonzero(flags[layer + 1]).tolist()
    assert server.stats(0, -1) == server.stats(0, -1) and server.stats(0, -1)["massive"] == []  # type: ignore[index]
    assert server.stats(1, 3)["massive"] == [0]  # type: ignore[index]


def test_runs_without_norms_send_no_stats():
    att = np.full((2, 3, 4, 4), 0.25, dtype=np.float32)
    w = AttentionWidget.from_attentions(att, ["a", "b", "c", "d"], causal=False)
    content, buffers = w._server.reply(1, 0, "raw")
    assert content["stats"] is None and len(buffers) == 1


def test_on_message_sends_the_reply_and_errors_as_sentences(run, monkeypatch):
    w = AttentionWidget(run)
    sent = []
    monkeypatch.setattr(w, "send", lambda content, buffers=None: sent.append((content, buffers)))
    w._on_message(w, {"kind": "request", "layer": 2, "head": 1, "weighting": "raw"}, [])
    content, buffers = sent[-1]
    assert content == dict(w._server.reply(2, 1, "raw")[0])
    assert buffers == [w._server.encoded(2, 1, "raw")]
    w._on_message(w, {"kind": "request", "layer": 9, "head": 1}, [])
    assert (
        sent[-1][0]["kind"] == "error" and "layer must be between 0 and 2" in sent[-1][0]["message"]
    )


def test_hide_sinks_and_label_traits(run):
    w = AttentionWidget(run, hide_sinks=True, label="text A")
    state = w.get_state()
    assert state["hide_sinks"] is True and state["label"] == "text A"
    assert AttentionWidget(run).hide_sinks is False
    for bad in ("yes", None, 2, [True]):
        with pytest.raises(traitlets.TraitError):
            w.hide_sinks = bad
        assert w.hide_sinks is True
    w.hide_sinks = False
    assert w.get_state()["hide_sinks"] is False


def test_weighting_change_recolours_the_grid_with_norm_weighted_scores(run):
    w = AttentionWidget(run)
    raw = np.array(w.sink_grid)
    w.weighting = "norm"
    norm = np.array(w.sink_grid)
    assert run.output_norms is not None
    want = metrics.first_token_scores(run.attention, run.output_norms)
    np.testing.assert_allclose(norm, want, atol=1e-4)
    assert not np.allclose(raw, norm)
