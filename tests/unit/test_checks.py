"""checks: one range rule for the widget's traits, the slice server and AttentionRun.slice."""

import dataclasses
import re

import numpy as np
import pytest
import traitlets

from bos_widget import AttentionWidget
from bos_widget.capture.adapters import run_from_attentions
from bos_widget.run import SinkSummary
from bos_widget.transport.checks import MEAN_HEAD, check_index, check_request, pick, weightings
from bos_widget.transport.slices import SliceServer


def _run(L: int = 3, H: int = 4, T: int = 5, norms: bool = True):
    att = np.tril(np.random.default_rng(0).random((L, H, T, T))).astype(np.float32)
    att /= att.sum(-1, keepdims=True)
    run = run_from_attentions(att, [f"t{i}" for i in range(T)], causal=True)
    if norms:
        run = dataclasses.replace(run, output_norms=np.ones((L, H, T), np.float32))
    return run


BAD = [
    ({"layer": 3}, "layer must be between 0 and 2, got 3."),
    ({"layer": -1}, "layer must be between 0 and 2, got -1."),
    ({"head": 4}, "head must be between 0 and 3, or -1 for the mean of heads, got 4."),
    ({"head": -2}, "head must be between 0 and 3, or -1 for the mean of heads, got -2."),
    ({"weighting": "softmax"}, "weighting must be one of ['raw', 'norm'], got 'softmax'."),
]


@pytest.mark.parametrize(("request_", "message"), BAD)
def test_one_sentence_from_the_rule_the_server_and_the_traits(request_, message):
    run = _run()
    with pytest.raises(ValueError, match=re.escape(message)) as direct:
        check_request(run, **request_)
    assert str(direct.value) == message
    full = {"layer": 0, "head": MEAN_HEAD, "weighting": "raw", **request_}
    # what a front-end request gets back
    with pytest.raises(ValueError, match=re.escape(message)) as served:
        SliceServer(run).reply(full["layer"], full["head"], full["weighting"])
    assert str(served.value) == message
    w = AttentionWidget(run)
    (name, value), before = next(iter(request_.items())), w.get_state()
    with pytest.raises(traitlets.TraitError) as trait:
        setattr(w, name, value)
    assert str(trait.value) == message
    assert w.get_state() == before


def test_good_requests_pass_and_none_is_not_checked():
    run = _run()
    for layer in range(3):
        for head in (MEAN_HEAD, 0, 3):
            check_request(run, layer, head, "norm")
    check_request(run)
    check_index(3, 4, layer=2)
    check_index(3, 4, head=-1)
    with pytest.raises(ValueError, match="layer must be between 0 and 2"):
        run.slice(3, 0)  # AttentionRun.slice uses the same rule


def test_norm_weighting_needs_value_norms_and_summaries_keep_head_means():
    bare = _run(norms=False)
    assert weightings(bare) == ["raw"]
    with pytest.raises(ValueError, match=r"one of \['raw'\], got 'norm' \(this run has no value"):
        check_request(bare, weighting="norm")
    scores = np.zeros((3, 4, 5), np.float32)
    summary = SinkSummary(scores, None, None, "Only head means were kept.")
    summ = dataclasses.replace(_run(), summary=summary)
    assert weightings(summ) == ["raw"]
    check_request(summ, 0, MEAN_HEAD, "raw")
    with pytest.raises(ValueError, match=r"kept\. Single heads can't be shown\. Only head=-1"):
        check_request(summ, head=1)


def test_pick_keeps_the_order_given_and_refuses_with_a_sentence():
    assert pick("layers", None, range(3)) == [0, 1, 2]
    assert pick("heads", [3, 1, 3], range(4)) == [3, 1]
    assert pick("heads", [np.int64(-1), 0], [-1, 0, 1]) == [-1, 0]
    for bad in ([], [5], [True], [0.5], ["1"]):
        with pytest.raises(ValueError, match=r"^layers must be a non-empty subset of \[0, 1\]"):
            pick("layers", bad, range(2))


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("view", "pie", "view must be one of ['arcs', 'matrix'], got 'pie'."),
        ("theme", "sepia", "theme must be one of ['auto', 'light', 'dark'], got 'sepia'."),
        ("threshold", 1.5, "threshold must lie in [0, 1], got 1.5."),
        ("threshold", float("nan"), "threshold must lie in [0, 1], got nan."),
    ],
)
def test_trait_types_refuse_in_sentences_and_keep_the_old_value(name, value, message):
    w = AttentionWidget(_run())
    before = getattr(w, name)
    with pytest.raises(traitlets.TraitError) as err:
        setattr(w, name, value)
    assert str(err.value) == message
    assert getattr(w, name) == before
    assert w.traits()["threshold"].min == 0 and w.traits()["threshold"].max == 1
    w.threshold, w.view, w.theme = 1, "matrix", "dark"  # the ends are allowed
    assert (w.threshold, w.view, w.theme) == (1.0, "matrix", "dark")
