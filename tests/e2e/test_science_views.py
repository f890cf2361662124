"""The science views in a real browser, JupyterLab 4 and Notebook 7: raw <-> norm-weighted
toggle, the norms strip with massive-activation markers and its last-layer label, sink scores
shown with the queries they average over, hide-sinks, and compare mode.

A small notebook of its own (``science_views.ipynb``, written into the server's root) shows
SmolLM2 on one text (``smol``) and two texts side by side (``cmp``). Every test first puts the
widgets into a known state from Python.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator, Page, expect

from . import jupyter as jp

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

TEXT_A = "The old lighthouse keeper climbed the stairs every evening to light the lamp."
TEXT_B = "A small cat slept on the warm windowsill while the rain fell outside all afternoon."
NOTEBOOK = "science_views.ipynb"
CELLS = [
    "import numpy as np\nimport bos_widget\nfrom bos_widget import metrics\n"
    "from bos_widget.export import figure\n"
    f"TEXT_A = {TEXT_A!r}\nTEXT_B = {TEXT_B!r}",
    "smol = bos_widget.show(TEXT_A, model='smollm2')\nsmol",
    "model, tok = bos_widget.models.load_cached('smollm2')\n"
    "run_b = bos_widget.capture(model, tok, TEXT_B, model_name='smollm2')\n"
    "cmp = bos_widget.compare(smol.run, run_b, labels=('text A', 'text B'))\ncmp",
]


@pytest.fixture(scope="module")
def science(server, browser):
    """A page on which science_views.ipynb ran to the end: smol plus the two compare views."""
    with jp.notebook_page(browser, server, NOTEBOOK, CELLS, widgets=3) as page:
        yield page


def element_shot(target: Locator, name: str) -> None:
    """Screenshot of one element (scrolled into view), for looking at a part of the widget."""
    jp.ARTIFACTS.mkdir(parents=True, exist_ok=True)
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
    try:
        target.screenshot(path=str(jp.ARTIFACTS / f"{safe}.png"), timeout=30_000)
    except Exception as exc:  # noqa: BLE001 - a screenshot must never hide the real failure
        print(f"screenshot {name} failed: {exc}")


def reset(page: Page, root: Locator, *, layer: int = 3, head: int = -1) -> dict:
    got = jp.execute(
        page,
        "smol.view = 'arcs'; smol.weighting = 'raw'; smol.hide_sinks = False; "
        f"smol.selected = None; smol.threshold = 0.3; smol.layer = {layer}; smol.head = {head}; "
        "[smol.layer, smol.head, smol.weighting, smol.hide_sinks]",
    )
    assert got == [layer, head, "raw", False]
    expect(root.get_by_test_id("bosw-layer")).to_have_value(str(layer))
    expect(root.get_by_test_id("bosw-weighting")).to_have_value("raw")
    expect(root.get_by_test_id("bosw-hide-sinks")).not_to_be_checked()
    root.get_by_test_id("bosw-canvas").scroll_into_view_if_needed()
    page.mouse.move(1, 1)
    return jp.wait_canvas_settled(root.get_by_test_id("bosw-canvas"), root)


def smol_root(page: Page) -> Locator:
    root = page.get_by_test_id("bosw-root").nth(0)
    expect(root.get_by_test_id("bosw-label")).to_have_count(0)
    return root


def dom_marked(root: Locator) -> set:
    cells = root.get_by_test_id("bosw-grid").evaluate(
        """(g) => [...g.querySelectorAll('[data-testid="bosw-cell"].marked')]
            .map(c => [Number(c.dataset.layer), Number(c.dataset.head)])"""
    )
    return {tuple(c) for c in cells}


def python_marked(page: Page) -> set:
    cells = jp.execute(
        page,
        "_g = smol.sink_grid; "
        "[[l, h] for l, r in enumerate(_g) for h, s in enumerate(r) if s > smol.threshold]",
    )
    return {tuple(c) for c in cells}  # type: ignore[union-attr]


def test_weighting_toggle_recolours_canvas_grid_and_python(science, request):
    page = science
    root = smol_root(page)
    try:
        before = reset(page, root, layer=3)
        raw_marks = dom_marked(root)
        assert raw_marks == python_marked(page)
        root.get_by_test_id("bosw-weighting").select_option("norm")
        canvas = root.get_by_test_id("bosw-canvas")
        expect(canvas).to_have_attribute("aria-label", re.compile(r"norm-weighted"))
        expect(root.get_by_test_id("bosw-header")).to_contain_text("weighting norm-weighted")
        after = jp.wait_canvas_settled(canvas, root)
        assert after["url"] != before["url"], "canvas did not change with the weighting"
        assert jp.execute(page, "smol.weighting") == "norm"
        grid = jp.execute(
            page,
            "_w = metrics.first_token_scores(smol.run.attention, smol.run.output_norms); "
            "bool(np.allclose(np.array(smol.sink_grid), _w, atol=1e-4))",
        )
        assert grid is True, "Python's sink_grid is not the norm-weighted D1 score"
        norm_py = python_marked(page)
        expect(root.locator('[data-testid="bosw-cell"].marked')).to_have_count(len(norm_py))
        assert dom_marked(root) == norm_py
        assert norm_py != raw_marks, "norm weighting should change which heads are sinks"
        element_shot(root, f"{request.node.name}-norm")
        # and back: Python sets raw, the select and the marks follow
        jp.execute(page, "smol.weighting = 'raw'; smol.weighting")
        expect(root.get_by_test_id("bosw-weighting")).to_have_value("raw")
        expect(root.locator('[data-testid="bosw-cell"].marked')).to_have_count(len(raw_marks))
        assert dom_marked(root) == raw_marks
    finally:
        jp.shot(page, request.node.name, root)


def python_massive(page: Page, layer: int) -> list[int]:
    got = jp.execute(
        page,
        "_f = metrics.massive_activations(smol.run.hidden_max_abs, smol.run.hidden_median_abs); "
        f"np.flatnonzero(_f[{layer} + 1]).tolist()",
    )
    assert isinstance(got, list)
    return got


def test_norms_strip_bars_and_massive_markers(science, request):
    page = science
    root = smol_root(page)
    try:
        T = jp.execute(page, "smol.run.T")
        # SmolLM2 holds a massive activation on token 0 after its middle layers (D5)
        reset(page, root, layer=15, head=2)
        norms = root.get_by_test_id("bosw-norms")
        expect(norms).to_be_visible()
        hidden = norms.get_by_test_id("bosw-norms-hidden")
        value = norms.get_by_test_id("bosw-norms-value")
        expect(hidden).to_contain_text("‖h‖ after layer 15")
        expect(value).to_contain_text("‖v‖ head 2")
        expect(hidden.get_by_test_id("bosw-bar")).to_have_count(T)
        expect(value.get_by_test_id("bosw-bar")).to_have_count(T)
        want = python_massive(page, 15)
        assert want == [0], f"expected SmolLM2's massive activation on token 0, got {want}"
        markers = norms.get_by_test_id("bosw-massive")
        expect(markers).to_have_count(1)
        expect(markers.first).to_have_attribute("data-index", "0")
        expect(markers.first).to_have_attribute("title", re.compile("massive activation"))
        # the bar heights follow Python's hidden norms: the tallest bar is token 0's
        heights = hidden.get_by_test_id("bosw-bar").evaluate_all(
            "(bs) => bs.map(b => parseFloat(b.style.height))"
        )
        norms_py = jp.execute(page, "smol.run.hidden_norms[16].tolist()")
        assert isinstance(norms_py, list)
        assert heights.index(max(heights)) == norms_py.index(max(norms_py))
        element_shot(root, f"{request.node.name}-layer15")
        # an early layer has none, in Python and in the view; the mean-head label follows
        jp.execute(page, "smol.layer = 1; smol.head = -1; smol.layer")
        assert python_massive(page, 1) == []
        expect(hidden).to_contain_text("‖h‖ after layer 1")
        expect(value).to_contain_text("‖v‖ mean of 9 heads")
        expect(markers).to_have_count(0)
        expect(norms).to_contain_text("none after this layer")
    finally:
        jp.shot(page, request.node.name, root)


def kernel_alpha_texts(page: Page, layer: int, keys: list[int]) -> list[str]:
    """The kernel's D1 scores of the mean head, as the saved figure states them (the view must
    say the same: ``α = 0.63 over 14 queries``)."""
    got = jp.execute(
        page,
        f"_a = metrics.sink_scores(metrics.head_mean(smol.run.attention[{layer}]), True); "
        f"[figure.alpha_text(_a[k], k, smol.run.T, True) for k in {keys!r}]",
    )
    assert isinstance(got, list)
    return got


def test_sink_scores_show_their_support_and_the_last_layer_says_what_it_is(science, request):
    """SmolLM2 (causal, T = 14): every α in the readout and the grid says how many queries it
    averages over (T - k for key k); after the last layer the norms strip shows the last
    block's output before the final norm, as Python's run records it."""
    page = science
    root = smol_root(page)
    try:
        T, L = jp.execute(page, "[smol.run.T, smol.run.n_layers]")
        last = L - 1
        reset(page, root, layer=last, head=-1)
        readout = root.get_by_test_id("bosw-readout")
        sink0, key5, key3 = kernel_alpha_texts(page, last, [0, 5, 3])
        assert sink0.endswith(f"over {T} queries") and key5.endswith(f"over {T - 5} queries")
        expect(readout).to_contain_text(f"Sink keys (α > ε = 0.30): #0 “The” {sink0}")
        # a click on a token selects it as the query: the readout gives its score as a key
        root.get_by_test_id("bosw-token").nth(5).click()
        assert jp.execute(page, "smol.selected") == 5
        expect(readout).to_contain_text(f"as a key: {key5}")
        # the overview grid's cells: alpha of key 0, which every query sees
        cell = root.locator(f'[data-testid="bosw-cell-mean"][data-layer="{last}"]')
        expect(cell).to_have_attribute("title", re.compile(rf"key #0 α = 0\.\d\d over {T} queries"))
        # the norms strip after the last layer: the block's output, not the final norm's
        meta = "last block output (before the final norm)"
        assert jp.execute(page, "smol.run.meta.last_hidden") == meta
        hidden = root.get_by_test_id("bosw-norms-hidden")
        expect(hidden).to_contain_text(f"‖h‖ after layer {last}: {meta}")
        bar = hidden.get_by_test_id("bosw-bar").first
        expect(bar).to_have_attribute("title", re.compile(re.escape(meta)))
        heights = hidden.get_by_test_id("bosw-bar").evaluate_all(
            "(bs) => bs.map(b => parseFloat(b.style.height))"
        )
        norms_py = jp.execute(page, f"smol.run.hidden_norms[{L}].tolist()")
        assert isinstance(norms_py, list)
        assert heights.index(max(heights)) == norms_py.index(max(norms_py)) == 0
        # before the final norm token 0 keeps its outsized residual norm (~5000 vs ~700)
        assert norms_py[0] > 3 * sorted(norms_py)[len(norms_py) // 2]
        element_shot(root, f"{request.node.name}-arcs")
        # the matrix view: hovering a cell gives the key's score and its support
        jp.execute(page, "smol.selected = None; smol.view = 'matrix'; smol.view")
        expect(root).to_have_attribute("data-painted", re.compile(r":matrix$"))
        canvas = root.get_by_test_id("bosw-canvas")
        canvas.scroll_into_view_if_needed()
        geo = canvas.evaluate(
            "(c) => { const r = c.getBoundingClientRect(); "
            "return [r.left, r.top, ...c.dataset.matrix.split(' ').map(Number)]; }"
        )
        left, top, x0, y0, size = geo
        q, k = 10, 3
        x, y = left + x0 + (k + 0.5) * size / T, top + y0 + (q + 0.5) * size / T
        page.mouse.move(x - 3, y - 3)
        page.mouse.move(x, y, steps=3)
        expect(readout).to_contain_text(f"key #{k}: {key3}")
        assert key3.endswith(f"over {T - k} queries")
        element_shot(root, f"{request.node.name}-matrix")  # the hovered cell is outlined
        # one layer earlier the strip says "residual stream" only
        jp.execute(page, f"smol.layer = {last - 1}; smol.layer")
        expect(hidden).to_contain_text(f"‖h‖ after layer {last - 1} (residual stream)")
    finally:
        page.mouse.move(1, 1)
        jp.shot(page, request.node.name, root)


def test_hide_sinks_changes_drawing_and_caption(science, request):
    page = science
    root = smol_root(page)
    try:
        before = reset(page, root, layer=10, head=-1)
        readout = root.get_by_test_id("bosw-readout")
        expect(readout).not_to_contain_text("Sinks hidden")
        box = root.get_by_test_id("bosw-hide-sinks")
        assert box.get_attribute("data-lm-suppress-shortcuts") == "true"
        box.check()
        canvas = root.get_by_test_id("bosw-canvas")
        caption = "sinks hidden, rows renormalised"
        expect(canvas).to_have_attribute("aria-label", re.compile(caption))
        expect(readout).to_contain_text(caption, ignore_case=True)
        expect(root.get_by_test_id("bosw-header")).to_contain_text(caption)
        after = jp.wait_canvas_settled(canvas, root)
        assert after["url"] != before["url"], "hiding sinks did not change the drawing"
        assert jp.execute(page, "smol.hide_sinks") is True
        # matrix view too, then Python switches it off and the checkbox follows
        jp.execute(page, "smol.view = 'matrix'; smol.view")
        expect(root).to_have_attribute("data-painted", re.compile(r":matrix:hidden$"))
        element_shot(root, f"{request.node.name}-matrix")
        jp.execute(page, "smol.hide_sinks = False; smol.hide_sinks")
        expect(box).not_to_be_checked()
        expect(root).to_have_attribute("data-painted", re.compile(r":matrix$"))
        expect(readout).not_to_contain_text("Sinks hidden")
    finally:
        jp.shot(page, request.node.name, root)


def test_compare_mode_links_the_two_views(science, request):
    page = science
    roots = page.get_by_test_id("bosw-root")
    a, b = roots.nth(1), roots.nth(2)
    try:
        jp.execute(page, "cmp.layer = 3; cmp.head = -1; [cmp.a.layer, cmp.b.layer]")
        expect(a.get_by_test_id("bosw-label")).to_have_text("text A")
        expect(b.get_by_test_id("bosw-label")).to_have_text("text B")
        for root in (a, b):
            expect(root.get_by_test_id("bosw-header")).to_contain_text("smollm2", ignore_case=True)
            expect(root.get_by_test_id("bosw-layer")).to_have_value("3")
        box_a, box_b = a.bounding_box(), b.bounding_box()
        assert box_a and box_b and box_b["x"] >= box_a["x"] + box_a["width"] - 1, "not side by side"
        canvas_b = b.get_by_test_id("bosw-canvas")
        before_b = jp.wait_canvas_settled(canvas_b, b)
        layer_a = a.get_by_test_id("bosw-layer")
        layer_a.focus()
        page.keyboard.press("End")
        expect(layer_a).to_have_value("29")
        expect(b.get_by_test_id("bosw-layer")).to_have_value("29")
        expect(canvas_b).to_have_attribute("aria-label", re.compile(r"layer 29\b"), timeout=60_000)
        after_b = jp.wait_canvas_settled(canvas_b, b)
        assert after_b["url"] != before_b["url"], "the linked view did not redraw"
        assert jp.execute(page, "[cmp.a.layer, cmp.b.layer]") == [29, 29]
        # the other way round, and a linked checkbox
        b.get_by_test_id("bosw-hide-sinks").check()
        expect(a.get_by_test_id("bosw-hide-sinks")).to_be_checked()
        expect(a.get_by_test_id("bosw-readout")).to_contain_text("Sinks hidden")
        assert jp.execute(page, "[cmp.a.hide_sinks, cmp.b.hide_sinks]") == [True, True]
        element_shot(page.locator(".widget-hbox").filter(has=a), f"{request.node.name}-linked")
        jp.execute(page, "cmp.hide_sinks = False; cmp.b.hide_sinks")
    finally:
        jp.shot(page, request.node.name, a)
