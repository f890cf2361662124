"""AttentionWidget state and validation, and the slices it serves (no browser here)."""

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
import traitlets

from bos_widget import AttentionWidget, capture
from bos_widget.analysis import metrics
from bos_widget.capture.adapters import run_from_attentions
from bos_widget.export import figure
from bos_widget.export import page as export
from bos_widget.transport import codec
from bos_widget.transport.slices import SliceServer

from . import tiny

TEXT = "the quick brown fox jumps over the lazy dog"
SINKS = json.loads((Path(__file__).parent.parent / "fixtures" / "sinks.json").read_text())


@pytest.fixture(scope="module")
def run():
    return capture(tiny.llama(), tiny.tokenizer(), TEXT)


@pytest.fixture
def widget(run):
    return AttentionWidget(run)


def test_opening_state_is_small_json(widget, run):
    state = widget.get_state()
    assert state["tokens"] == list(run.tokens)
    assert state["meta"]["n_layers"] == 3 and state["meta"]["n_heads"] == 4
    assert state["meta"]["causal"] is True and state["meta"]["bos_added"] is True
    assert not any(isinstance(v, (bytes, memoryview)) for v in state.values())
    grid = np.array(state["sink_grid"])
    alpha0 = metrics.sink_scores(run.attention, causal=True)[..., 0]
    np.testing.assert_allclose(grid, alpha0, atol=1e-4)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("layer", 3, "between 0 and 2"),
        ("layer", -1, "between 0 and 2"),
        ("head", 4, "-1 for the mean"),
        ("head", -2, "-1 for the mean"),
        ("threshold", 1.5, r"\[0, 1\]"),
        ("threshold", -0.1, r"\[0, 1\]"),
        ("view", "pie", "arcs"),
        ("weighting", "softmax", "raw"),
        ("selected", 99, "token index"),
    ],
)
def test_bad_values_raise_and_change_nothing(widget, name, value, message):
    before = getattr(widget, name)
    with pytest.raises(traitlets.TraitError, match=message):
        setattr(widget, name, value)
    assert getattr(widget, name) == before


def test_good_values_are_kept(widget):
    widget.layer, widget.head, widget.threshold = 2, 3, 0.5
    widget.view, widget.selected, widget.weighting = "matrix", 4, "norm"
    assert (widget.layer, widget.head, widget.threshold) == (2, 3, 0.5)
    assert (widget.view, widget.selected, widget.weighting) == ("matrix", 4, "norm")
    widget.selected = None
    assert widget.selected is None


def test_weighting_recolours_the_grid(widget, run):
    raw = np.array(widget.sink_grid)
    widget.weighting = "norm"
    norm = np.array(widget.sink_grid)
    share = metrics.norm_weighted(run.attention[1], run.output_norms[1])
    np.testing.assert_allclose(norm[1], metrics.sink_scores(share, True)[..., 0], atol=1e-4)
    assert not np.allclose(raw, norm)


def test_unknown_keyword_is_a_type_error(run):
    with pytest.raises(TypeError, match="colour"):
        AttentionWidget(run, colour="red")
    with pytest.raises(TypeError, match="AttentionRun"):
        AttentionWidget("not a run")


def test_long_inputs_open_in_the_matrix_view():
    att = np.full((1, 1, 200, 200), 1 / 200, dtype=np.float32)
    w = AttentionWidget.from_attentions(att, [f"t{i}" for i in range(200)])
    assert w.view == "matrix"


def test_slice_server_bytes_decode_to_the_attention(run):
    server = SliceServer(run)
    one = codec.decode(server.encoded(2, 1, "raw"))
    np.testing.assert_allclose(one, run.attention[2, 1].astype(np.float32), atol=1e-3)
    mean = codec.decode(server.encoded(0, -1, "raw"))
    np.testing.assert_allclose(mean, run.attention[0].astype(np.float32).mean(0), atol=1e-3)
    norm = codec.decode(server.encoded(0, 0, "norm"))
    np.testing.assert_allclose(norm.sum(-1), 1.0, atol=3e-3)
    assert server.encoded(2, 1, "raw") is server.encoded(2, 1, "raw")  # cached


def test_slice_server_packs_causal_slices_and_not_bidirectional_ones(run):
    assert run.meta.causal
    content, [blob] = SliceServer(run).reply(1, 0, "raw")
    assert blob[7] == codec.FLAG_LOWER and content["encoding"] == "float16"
    T = run.T
    assert len(blob) == 8 + 8 + T * (T + 1)  # header, shape, then T(T+1)/2 float16 values
    assert content["error_bound"] == codec.error_bound(SliceServer(run).matrix(1, 0), "float16")
    att = np.random.default_rng(0).random((1, 1, 6, 6)).astype(np.float32)
    bidir = run_from_attentions(att / att.sum(-1, keepdims=True), list("abcdef"), causal=False)
    assert SliceServer(bidir).encoded(0, 0)[7] == 0


@pytest.mark.parametrize(("T", "encoding"), [(1023, "float16"), (1024, "uint8")])
def test_slice_server_quantises_to_uint8_from_t_1024_and_states_the_bound(T, encoding):
    att = np.tril(np.random.default_rng(T).random((1, 1, T, T))).astype(np.float32)
    run_ = run_from_attentions(att / att.sum(-1, keepdims=True), ["t"] * T, causal=True)
    server = SliceServer(run_)
    content, [blob] = server.reply(0, 0, "raw")
    assert content["encoding"] == encoding and blob[5] == codec.DTYPE_CODES[encoding]
    assert blob[7] == codec.FLAG_LOWER
    got, want = codec.decode(blob), server.matrix(0, 0)
    assert 0 < content["error_bound"] <= (1 / 255 if encoding == "uint8" else 1e-3)
    assert np.abs(got - want).max() <= content["error_bound"]
    assert len(blob) < (0.26 if encoding == "uint8" else 0.51) * 2 * T * T


def test_slice_server_cache_is_bounded(run):
    server = SliceServer(run, cache_size=3)
    for layer in range(3):
        for head in range(4):
            server.encoded(layer, head)
    assert len(server._cache) == 3


def test_slice_server_rejects_bad_requests(run):
    server = SliceServer(run)
    with pytest.raises(ValueError, match="layer"):
        server.encoded(7, 0)
    with pytest.raises(ValueError, match="head"):
        server.encoded(0, 9)


def test_from_attentions_takes_the_huggingface_tuple(run):
    model, tok = tiny.gpt2(), tiny.tokenizer()
    model.set_attn_implementation("eager")
    enc = tok(TEXT, return_tensors="pt")
    with torch.no_grad():
        attentions = model(**enc, output_attentions=True).attentions
    tokens = tok.convert_ids_to_tokens(enc["input_ids"][0])
    w = AttentionWidget.from_attentions(attentions, tokens)
    assert w.meta["causal"] is True and w.meta["n_layers"] == 2
    np.testing.assert_allclose(w.run.attention[1], attentions[1][0].numpy(), atol=1e-3)


@pytest.mark.parametrize("kind", ["numpy", "list", "torch"])
def test_from_attentions_accepts_numpy_lists_and_tensors(kind):
    att = np.full((2, 3, 4, 4), 0.25, dtype=np.float32)
    data = {"numpy": att, "list": att.tolist(), "torch": torch.from_numpy(att)}[kind]
    run = run_from_attentions(data, ["a", "b", "c", "d"])
    assert run.attention.shape == (2, 3, 4, 4) and run.meta.causal is False


@pytest.mark.parametrize(
    ("att", "tokens", "error", "message"),
    [
        (np.full((1, 1, 3, 3), 1 / 3), ["a", "b"], ValueError, "3 positions but 2 tokens"),
        (np.full((1, 3, 3), 1 / 3), ["a", "b", "c"], ValueError, r"\[layers, heads, T, T\]"),
        (np.full((1, 1, 2, 3), 1 / 3), ["a", "b", "c"], ValueError, "square"),
        (np.array([[[[np.nan, 1.0], [0.5, 0.5]]]]), ["a", "b"], ValueError, "NaN"),
        (np.array([[[[-1.0, 2.0], [0.5, 0.5]]]]), ["a", "b"], ValueError, "non-negative"),
        (np.full((1, 1, 2, 2), 0.5), "ab", TypeError, "list of strings"),
        (np.array([[[["a", "b"], ["c", "d"]]]]), ["a", "b"], TypeError, "numeric"),
    ],
)
def test_from_attentions_bad_input(att, tokens, error, message):
    with pytest.raises(error, match=message):
        run_from_attentions(att, tokens)


def test_from_attentions_batch_above_one_is_refused():
    layer = torch.full((2, 1, 3, 3), 1 / 3)
    with pytest.raises(ValueError, match="batch of 2"):
        run_from_attentions((layer, layer), ["a", "b", "c"])


def test_rows_that_do_not_sum_to_one_warn_and_are_shown():
    att = np.full((1, 1, 2, 2), 0.3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run = run_from_attentions(att, ["a", "b"])
    assert any("do not sum to 1" in str(w.message) for w in caught)
    assert float(run.attention[0, 0, 0, 0]) == pytest.approx(0.3, abs=1e-3)


def test_readable_marks_whitespace_and_invisible_characters():
    from bos_widget.capture.tokens import readable

    assert readable("\u202eevil\u202c") == "⟨U+202E⟩evil⟨U+202C⟩"
    assert readable(" a\tb\n") == "␣a⇥b↵"
    assert readable("") == "∅"


def test_slice_server_warms_its_cache_in_the_background_within_a_byte_budget(monkeypatch):
    from bos_widget.transport import slices

    T, L, H = 24, 3, 4
    a = np.tril(np.ones((T, T), np.float32))
    a /= a.sum(-1, keepdims=True)
    att = np.broadcast_to(a, (L, H, T, T)).copy()
    run = AttentionWidget.from_attentions(att, [f"t{i}" for i in range(T)]).run
    server = slices.SliceServer(run)
    thread = server.warm(1, 2)
    assert thread is not None and server.warm(0, 0) is None  # started once
    thread.join(timeout=30)
    assert len(server._cache) == L * (H + 1)  # every raw slice, means of heads included
    for layer in range(L):
        for head in (-1, *range(H)):
            got = codec.decode(server.encoded(layer, head))
            np.testing.assert_allclose(got, a, atol=2e-3)
    one = len(server.encoded(0, 0))  # a budget of three slices keeps three
    monkeypatch.setattr(slices, "WARM_BUDGET_BYTES", 3 * one)
    small = slices.SliceServer(run)
    t2 = small.warm(0, -1)
    assert t2 is not None
    t2.join(timeout=30)
    assert len(small._cache) == 3 and small._cache_bytes <= 3 * one
    assert next(iter(small._cache))[:3] == (0, -1, "raw")  # the view's slice first


@pytest.mark.parametrize("case", SINKS["mask"])
def test_figure_sink_keys_follow_the_shared_fixture(case):
    """The saved figure marks the keys the view marks: alpha > eps, enough queries."""
    got = figure.sink_keys(np.array(case["alpha"], np.float32), case["eps"], case["causal"])
    assert got.tolist() == case["sinks"]


@pytest.mark.parametrize("case", SINKS["text"])
def test_figure_states_a_score_with_its_support_as_the_view_does(case):
    got = figure.alpha_text(case["alpha"], case["k"], case["T"], case["causal"])
    assert got == case["text"]


def test_figure_subtitle_names_sinks_with_their_support():
    T = 4  # causal; every query after the first puts 0.5 on key 0 and 0.5 on itself
    att = np.zeros((1, 1, T, T), np.float32)
    att[0, 0, 0, 0] = 1.0
    for q in range(1, T):
        att[0, 0, q, 0] = att[0, 0, q, q] = 0.5
    w = AttentionWidget.from_attentions(att, ["<s>", "a", "b", "c"], causal=True, head=0)
    # alpha[0] = (1 + 3 * 0.5) / 4 = 0.625, shown rounded half up as the view's toFixed does
    assert figure.spec_of(w.run, export.widget_state(w)).subtitle.endswith(
        "sink keys α > ε: <s> (α = 0.63 over 4 queries)"
    )
    w.threshold = 0.625  # equal is no sink
    assert figure.spec_of(w.run, export.widget_state(w)).subtitle.endswith("sink keys α > ε: none")


def _with_sink_at(layer: int, L: int = 4, H: int = 3, T: int = 6) -> np.ndarray:
    rng = np.random.default_rng(layer)
    A = np.tril(rng.random((L, H, T, T)).astype(np.float32))
    A[layer, :, :, 0] += 5.0  # this layer's heads put most of each row on position 0
    return A / A.sum(-1, keepdims=True)


@pytest.mark.parametrize("sink_layer", [0, 2, 3])
def test_the_view_opens_on_the_strongest_sink_layer_unless_told(sink_layer):
    A = _with_sink_at(sink_layer)
    tokens = [f"t{i}" for i in range(A.shape[-1])]
    w = AttentionWidget.from_attentions(A, tokens)
    assert w.layer == sink_layer
    grid = np.asarray(w.sink_grid)
    assert int(np.argmax(grid.mean(axis=1))) == sink_layer
    assert AttentionWidget.from_attentions(A, tokens, layer=1).layer == 1


def test_strongest_sink_layer_takes_the_first_of_a_tie_and_survives_no_layers():
    assert metrics.strongest_sink_layer([[0.5, 0.5], [0.2, 0.8], [0.1, 0.1]]) == 0
    assert metrics.strongest_sink_layer(np.zeros((0, 3))) == 0
