"""Bad input gets an error a user can act on and loses nothing: after every refused value,
array or message the widget keeps its state and still serves slices (issue 7).

The cases already covered elsewhere (empty and too-long text in test_capture.py; mismatched
tokens, NaN, negative weights, batch of a tuple, rows not summing to 1 in test_widget.py) are
not repeated here.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
import traitlets

from bos_widget import AttentionWidget
from bos_widget.capture.adapters import run_from_attentions
from bos_widget.transport import codec

from . import tiny

TOKENS = ["<bos>", "the", "cat", "sat", "down"]


def _causal(L: int = 3, H: int = 4, T: int = 5, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    att = np.tril(rng.random((L, H, T, T)) + 0.05).astype(np.float32)
    return att / att.sum(-1, keepdims=True)


class Sent:
    """The messages a widget sends, captured in place of the comm."""

    def __init__(self, w: AttentionWidget) -> None:
        self.custom: list[tuple[dict, list]] = []
        self.updates: list[dict] = []

        def _send(msg: dict, buffers: list | None = None) -> None:
            if msg.get("method") == "custom":
                self.custom.append((msg["content"], list(buffers or [])))
            elif msg.get("method") == "update":
                self.updates.append(msg["state"])

        w._send = _send  # type: ignore[method-assign]  # the comm's send, below w.send

    def clear(self) -> None:
        self.custom.clear()
        self.updates.clear()


@pytest.fixture
def widget() -> AttentionWidget:
    w = AttentionWidget.from_attentions(_causal(), TOKENS, causal=True)
    w.layer, w.head, w.threshold = 1, 2, 0.4
    return w


SYNCED = ("layer", "head", "threshold", "view", "selected", "weighting", "hide_sinks", "tokens")


def _state(w: AttentionWidget) -> dict:
    return {k: getattr(w, k) for k in SYNCED} | {"sink_grid": w.sink_grid, "meta": w.meta}


def assert_serves(w: AttentionWidget, layer: int | None = None, head: int | None = None) -> None:
    """A request for (layer, head) (default: the current ones) is answered with a slice whose
    bytes decode to that attention."""
    layer = w.layer if layer is None else layer
    head = w.head if head is None else head
    sent = Sent(w)
    w._on_message(w, {"kind": "request", "layer": layer, "head": head, "weighting": "raw"}, [])
    assert len(sent.custom) == 1, sent.custom
    content, buffers = sent.custom[0]
    assert content["kind"] == "slice" and (content["layer"], content["head"]) == (layer, head)
    want = w._server.matrix(layer, head)
    got = codec.decode(buffers[0])
    assert np.abs(got - want).max() <= content["error_bound"]


# ---- values set from Python ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("layer", 3, "between 0 and 2"),
        ("layer", -1, "between 0 and 2"),
        ("layer", 2.5, "expected an int"),
        ("layer", "1", "expected an int"),
        ("layer", None, "expected an int"),
        ("layer", True, "must be an integer"),  # bools are ints to traitlets
        ("head", 4, "-1 for the mean"),
        ("head", -2, "-1 for the mean"),
        ("head", False, "must be an integer"),
        ("head", math.nan, "expected an int"),
        ("threshold", 1.5, r"\[0, 1\]"),
        ("threshold", -0.1, r"\[0, 1\]"),
        ("threshold", math.nan, r"\[0, 1\]"),
        ("threshold", math.inf, r"\[0, 1\]"),
        ("threshold", "0.5", "expected a float"),
        ("selected", 5, "token index"),
        ("selected", -1, "token index"),
        ("selected", True, "must be an integer"),
        ("view", "pie", "arcs"),
        ("weighting", "norm", "raw"),  # arrays carry no value norms
        ("hide_sinks", "yes", "boolean"),
    ],
)
def test_a_refused_value_changes_nothing_and_the_widget_still_serves(widget, name, value, message):
    before = _state(widget)
    with pytest.raises(traitlets.TraitError, match=message):
        setattr(widget, name, value)
    assert _state(widget) == before
    assert_serves(widget)
    widget.layer, widget.head = 2, -1  # and good values still take
    assert (widget.layer, widget.head) == (2, -1)
    assert_serves(widget)


def test_numpy_integers_are_taken_as_indices(widget):
    widget.layer, widget.head = np.int64(2), np.int32(3)
    assert (widget.layer, widget.head) == (2, 3)
    assert_serves(widget, 2, 3)


# ---- messages from the front end ---------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [
        {"kind": "request"},
        {"kind": "request", "layer": 0},
        {"kind": "request", "layer": "x", "head": 0},
        {"kind": "request", "layer": None, "head": 0},
        {"kind": "request", "layer": [1], "head": 0},
        {"kind": "request", "layer": math.inf, "head": 0},  # JSON's Infinity: OverflowError
        {"kind": "request", "layer": math.nan, "head": 0},
        {"kind": "request", "layer": 0, "head": {"h": 1}},
        {"kind": "request", "layer": 99, "head": 0},
        {"kind": "request", "layer": 0, "head": -7},
        {"kind": "request", "layer": 0, "head": 0, "weighting": "norm"},
        {"kind": "request", "layer": 0, "head": 0, "weighting": ["raw"]},
        {"kind": "request", "layer": "<img src=x onerror=alert(1)>" * 50, "head": 0},
    ],
)
def test_a_malformed_request_gets_an_error_back_and_the_widget_keeps_serving(widget, content):
    before = _state(widget)
    sent = Sent(widget)
    widget._on_message(widget, content, [])
    assert len(sent.custom) == 1, sent.custom
    reply, buffers = sent.custom[0]
    assert reply["kind"] == "error" and buffers == []
    message = reply["message"]
    assert isinstance(message, str) and message.endswith(".") and 20 < len(message) < 400
    assert _state(widget) == before
    assert_serves(widget)


@pytest.mark.parametrize(
    "content", [None, "request", 7, [1, 2], {}, {"kind": "hello"}, {"kind": None, "layer": 0}]
)
def test_messages_that_are_not_requests_are_ignored(widget, content):
    before = _state(widget)
    sent = Sent(widget)
    widget._on_message(widget, content, [])
    assert sent.custom == [] and sent.updates == []
    assert _state(widget) == before
    assert_serves(widget)


def _update_from_view(w: AttentionWidget, state: dict) -> None:
    """What ipywidgets does with an ``update`` message from a view."""
    w._handle_msg({"content": {"data": {"method": "update", "state": state}}, "buffers": []})


@pytest.mark.parametrize(
    "state",
    [
        {"layer": 99},
        {"layer": 0, "head": 9},  # a grid click sends both: neither may stick
        {"head": True},
        {"threshold": 2.0},
        {"selected": -5},
        {"view": "<script>alert(1)</script>"},
    ],
)
def test_a_refused_update_from_the_view_snaps_the_view_back(widget, state):
    before = _state(widget)
    sent = Sent(widget)
    _update_from_view(widget, state)
    assert _state(widget) == before
    # the view is sent the kernel's own values for every key it tried to change ...
    assert sent.updates, "the view was not told the kernel's values"
    told = {k: v for u in sent.updates for k, v in u.items()}
    assert told == {k: before[k] for k in state}
    # ... and why, for its error banner
    errors = [c for c, _ in sent.custom if c.get("kind") == "error"]
    assert len(errors) == 1 and errors[0]["message"]
    assert_serves(widget)


def test_a_good_update_from_the_view_is_taken_silently(widget):
    sent = Sent(widget)
    _update_from_view(widget, {"layer": 0, "head": 3, "threshold": 0.25})
    assert (widget.layer, widget.head, widget.threshold) == (0, 3, 0.25)
    assert sent.custom == [] and sent.updates == []
    assert_serves(widget)


# ---- arrays: dtypes, containers, values ----------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda a: a.astype(np.float64), id="numpy-float64"),
        pytest.param(lambda a: a.astype(np.float16), id="numpy-float16"),
        pytest.param(lambda a: torch.from_numpy(a).bfloat16(), id="torch-bfloat16"),
        pytest.param(lambda a: torch.from_numpy(a).half(), id="torch-float16"),
        pytest.param(lambda a: torch.from_numpy(a).double().requires_grad_(), id="torch-grad"),
        pytest.param(lambda a: tuple(a[:, None]), id="tuple-of-numpy-layers"),
        pytest.param(lambda a: [torch.from_numpy(x[None]) for x in a], id="list-of-tensors"),
        pytest.param(lambda a: [x.tolist() for x in a], id="list-of-nested-lists"),
    ],
)
def test_float_arrays_of_any_container_and_precision_are_taken(make):
    att = _causal()
    run = run_from_attentions(make(att), TOKENS)
    assert run.attention.dtype == np.float16 and run.attention.shape == att.shape
    np.testing.assert_allclose(run.attention, att, atol=1e-2)  # bfloat16 keeps ~3 digits
    assert run.meta.causal
    assert_serves(AttentionWidget(run), 2, 3)


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda a: (a > 0.3).astype(np.int64), id="numpy-int64"),
        pytest.param(lambda a: (a > 0.3).astype(np.uint8), id="numpy-uint8"),
        pytest.param(lambda a: torch.from_numpy((a > 0.3).astype(np.int32)), id="torch-int32"),
    ],
)
def test_integer_arrays_are_hard_attention_shown_with_a_warning(make):
    """0/1 weights are a valid (hard) attention pattern; their rows rarely sum to 1."""
    att = _causal()
    with pytest.warns(UserWarning, match="do not sum to 1"):
        run = run_from_attentions(make(att), TOKENS)
    np.testing.assert_array_equal(run.attention, (att > 0.3).astype(np.float16))


@pytest.mark.parametrize(
    ("make", "dtype"),
    [
        pytest.param(lambda a: a > 0.3, "bool", id="numpy-bool"),
        pytest.param(lambda a: torch.from_numpy(a > 0.3), "bool", id="torch-bool"),
        pytest.param(lambda a: a.astype(np.complex64), "complex64", id="numpy-complex"),
        pytest.param(lambda a: torch.from_numpy(a).to(torch.complex64), "complex64", id="torch-c"),
        pytest.param(lambda a: a.astype(object), "object", id="numpy-object"),
        pytest.param(lambda a: a.astype(str), "<U", id="numpy-str"),
        pytest.param(lambda a: None, "object", id="None"),
        pytest.param(lambda a: (None, None, None), "object", id="tuple-of-None"),
        pytest.param(lambda a: {"attentions": a}, "object", id="dict"),
    ],
)
def test_non_numeric_attention_is_refused_the_same_way_for_numpy_and_torch(make, dtype):
    with pytest.raises(TypeError, match=f"numeric.*{dtype}"):
        run_from_attentions(make(_causal()), TOKENS)


@pytest.mark.parametrize(
    ("att", "message"),
    [
        pytest.param(_causal() * 1e5, "do not fit float16", id="beyond-float16"),
        pytest.param(np.where(_causal() > 0.3, np.inf, _causal()), "infinite", id="inf"),
        pytest.param(
            torch.from_numpy(np.where(_causal() > 0.3, -np.inf, _causal())), "infinite", id="-inf"
        ),
        pytest.param(torch.full((1, 1, 5, 5), math.nan), "NaN", id="torch-nan"),
        pytest.param([[[[1.0], [0.5, 0.5]]]], "rectangular", id="ragged-lists"),
        pytest.param(_causal()[:, None].repeat(2, 1), "batch of 2", id="array-batch-of-2"),
        pytest.param(
            (np.full((1, 1, 5, 5), 0.2), np.full((1, 2, 5, 5), 0.2)), "same shape", id="layer-H"
        ),
        pytest.param(
            (np.full((1, 1, 5, 5), 0.2), np.full((1, 1, 4, 4), 0.25)), "same shape", id="layer-T"
        ),
        pytest.param(np.zeros((0, 4, 5, 5)), "empty", id="no-layers"),
        pytest.param(np.full((2, 3, 5), 0.2), r"\[layers, heads, T, T\]", id="3-axes"),
    ],
)
def test_bad_attention_values_and_shapes_are_refused(att, message):
    with pytest.raises(ValueError, match=message):
        run_from_attentions(att, TOKENS)


def test_rows_that_do_not_sum_to_one_are_served_as_given():
    att = _causal() * 0.5  # every row sums to 0.5
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        w = AttentionWidget.from_attentions(att, TOKENS)
    assert [str(c.message) for c in caught if "do not sum to 1" in str(c.message)]
    sent = Sent(w)
    w._on_message(w, {"kind": "request", "layer": 1, "head": 0, "weighting": "raw"}, [])
    row_sums = codec.decode(sent.custom[0][1][0]).sum(-1)
    np.testing.assert_allclose(row_sums, 0.5, atol=3e-3)


def test_tokens_that_are_not_strings_are_refused():
    for tokens in (["a", "b", 3, "d", "e"], [b"a"] * 5, None):
        with pytest.raises(TypeError, match="list of strings"):
            run_from_attentions(_causal(), tokens)  # type: ignore[arg-type]


# ---- text through the widget -----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "pair", "error", "message"),
    [
        ("", None, ValueError, "empty"),
        (" \n\t\u3000", None, ValueError, "empty"),  # an ideographic space is whitespace too
        ("the cat", "   ", ValueError, "text_pair is empty"),
        (None, None, TypeError, "must be a str"),
        (b"the cat", None, TypeError, "must be a str"),
        (" ".join(["the cat"] * 40), None, ValueError, "max_tokens"),
    ],
)
def test_bad_text_through_the_widget(text, pair, error, message):
    with pytest.raises(error, match=message):
        AttentionWidget.from_model(tiny.gpt2(), tiny.tokenizer(), text, pair)
