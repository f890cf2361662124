"""compare / compare_ablation: two linked AttentionWidgets side by side (no browser here)."""

import ipywidgets
import numpy as np
import pytest
from ipywidgets.widgets.widget_link import Link

import bos_widget
from bos_widget import AttentionWidget, capture
from bos_widget.views.compare import LINKED, Comparison

from . import tiny


@pytest.fixture(scope="module")
def runs():
    model, tok = tiny.llama(), tiny.tokenizer()
    a = capture(model, tok, "the quick brown fox jumps")
    b = capture(model, tok, "the cat sat on the mat and ran")
    c = capture(model, tok, "a dog ran to house")  # same T as a
    return a, b, c


def linked_names(cmp: Comparison) -> set[str]:
    names = set()
    for link in cmp.links:
        assert isinstance(link, Link)
        (src, s_name), (dst, d_name) = link.source, link.target
        assert (src, dst) == (cmp.a, cmp.b) and s_name == d_name
        names.add(s_name)
    return names


def test_compare_links_controls_and_labels_the_sides(runs):
    a, b, _ = runs
    cmp = bos_widget.compare(a, b, labels=("text A", "text B"))
    assert isinstance(cmp, ipywidgets.HBox) and list(cmp.children) == [cmp.a, cmp.b]
    assert cmp.a.get_state()["label"] == "text A" and cmp.b.get_state()["label"] == "text B"
    # different T: everything but the token selection is linked in the browser
    assert linked_names(cmp) == {*LINKED, "weighting"}
    assert "selected" not in linked_names(cmp)
    # Python side: setting on the comparison sets both widgets
    cmp.layer, cmp.head, cmp.hide_sinks, cmp.weighting = 2, 3, True, "norm"
    for w in (cmp.a, cmp.b):
        assert (w.layer, w.head, w.hide_sinks, w.weighting) == (2, 3, True, "norm")
    assert cmp.layer == 2
    assert "text A" in repr(cmp)


def test_selected_is_linked_only_for_equal_lengths(runs):
    a, _, c = runs
    assert a.T == c.T
    cmp = bos_widget.compare(AttentionWidget(a, layer=1), c)
    assert "selected" in linked_names(cmp)
    assert cmp.b.layer == 1, "b starts from a's values"
    cmp.selected = 2
    assert (cmp.a.selected, cmp.b.selected) == (2, 2)


def test_mismatched_layers_or_heads_raise(runs):
    a = runs[0]
    other = bos_widget.AttentionWidget.from_attentions(
        np.full((2, 4, a.T, a.T), 1 / a.T, dtype=np.float32), list(a.tokens)
    ).run
    with pytest.raises(ValueError, match=r"same layers x heads.*3 x 4.*2 x 4"):
        bos_widget.compare(a, other)
    with pytest.raises(TypeError, match="AttentionRun or AttentionWidget"):
        bos_widget.compare(a, "text")  # type: ignore[arg-type]


def test_weighting_is_not_linked_when_one_side_has_no_norms(runs):
    a = runs[0]
    arrays = AttentionWidget.from_attentions(a.attention.astype(np.float32), list(a.tokens)).run
    cmp = bos_widget.compare(a, arrays)
    assert "weighting" not in linked_names(cmp)


@pytest.mark.parametrize("ablation", ["zero_value0", "remove_sink_output"])
def test_compare_ablation_labels_and_changes_the_run(ablation):
    model, tok = tiny.llama(), tiny.tokenizer()
    cmp = bos_widget.compare_ablation(model, tok, "the quick brown fox jumps", ablation=ablation)
    assert cmp.a.label == "unablated" and ablation.split("_")[0] in cmp.b.label.replace("-", "_")
    assert cmp.a.run.T == cmp.b.run.T
    if ablation == "zero_value0":
        assert cmp.b.run.value_norms is not None
        np.testing.assert_allclose(cmp.b.run.value_norms[:, :, 0], 0.0, atol=1e-6)
    # later layers' attention differs from the unablated pass
    assert not np.allclose(cmp.a.run.attention[-1], cmp.b.run.attention[-1], atol=1e-4)
    with pytest.raises(ValueError, match="ablation must be one of"):
        bos_widget.compare_ablation(model, tok, "the cat", ablation="mask_everything")
