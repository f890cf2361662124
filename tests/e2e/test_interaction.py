"""Front end <-> kernel round trips on the first quickstart widget (SmolLM2), in both UIs.

Every test first puts the widget into a known state from Python (``reset``), so a failure in
one test leaves the next one meaningful.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator, Page, expect

from . import jupyter as jp

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]


def smol_root(page: Page) -> Locator:
    root = page.get_by_test_id("bosw-root").nth(0)
    expect(root.get_by_test_id("bosw-header")).to_contain_text("smollm2", ignore_case=True)
    return root


def reset(page: Page, root: Locator, *, layer: int = 3, head: int = -1, threshold: float = 0.3):
    """Set the widget's traits from Python and wait until the view shows them."""
    got = jp.execute(
        page,
        f"smol.view = 'arcs'; smol.weighting = 'raw'; smol.selected = None; "
        f"smol.layer = {layer}; smol.head = {head}; smol.threshold = {threshold}; "
        "[smol.layer, smol.head, smol.threshold, smol.selected]",
    )
    assert got == [layer, head, threshold, None]
    expect(root.get_by_test_id("bosw-layer")).to_have_value(str(layer))
    expect(root.get_by_test_id("bosw-head")).to_have_value(str(head))
    expect(root.get_by_test_id("bosw-threshold")).to_have_value(str(threshold))
    root.get_by_test_id("bosw-canvas").scroll_into_view_if_needed()
    page.mouse.move(1, 1)  # no hover left over from an earlier test
    return jp.wait_canvas_settled(root.get_by_test_id("bosw-canvas"), root)


def python_marked(page: Page) -> tuple[set, set, float]:
    """(layer, head) cells and mean-row layers with sink score > threshold, from the kernel."""
    got = jp.execute(
        page,
        "_g = smol.sink_grid; _t = smol.threshold; "
        "[[[l, h] for l, r in enumerate(_g) for h, s in enumerate(r) if s > _t], "
        "[l for l, r in enumerate(_g) if sum(r) / len(r) > _t], _t, len(_g), len(_g[0])]",
    )
    cells, means, thr, L, H = got
    assert (L, H) == (30, 9), f"SmolLM2 grid should be 30 x 9, got {L} x {H}"
    return {tuple(c) for c in cells}, set(means), thr


def dom_marked(root: Locator) -> tuple[set, set, int]:
    cells = root.get_by_test_id("bosw-grid").evaluate(
        """(g) => ({
            marked: [...g.querySelectorAll('[data-testid="bosw-cell"].marked')]
                .map(c => [Number(c.dataset.layer), Number(c.dataset.head)]),
            means: [...g.querySelectorAll('[data-testid="bosw-cell-mean"].marked')]
                .map(c => Number(c.dataset.layer)),
            total: g.querySelectorAll('[data-testid="bosw-cell"]').length,
        })"""
    )
    return {tuple(c) for c in cells["marked"]}, set(cells["means"]), cells["total"]


def drag_range_to(page: Page, slider: Locator, fraction: float) -> None:
    """Drag a range input's thumb with the mouse to ``fraction`` of its track."""
    slider.scroll_into_view_if_needed()
    box = slider.bounding_box()
    assert box, "slider has no box"
    lo, hi, val = slider.evaluate("(s) => [Number(s.min), Number(s.max), Number(s.value)]")
    y = box["y"] + box["height"] / 2
    thumb = min(16.0, box["height"])  # Chromium's default thumb is ~16 px wide

    def at(f: float) -> float:
        return box["x"] + thumb / 2 + f * (box["width"] - thumb)

    x0, x1 = at((val - lo) / (hi - lo)), at(fraction)
    page.mouse.move(x0, y)
    page.mouse.down()
    for i in range(1, 11):
        page.mouse.move(x0 + (x1 - x0) * i / 10, y)
    page.mouse.up()


# ---- 1. slider -> drawing and Python ------------------------------------------------------


def test_layer_slider_changes_drawing_and_trait(quickstart, request):
    page = quickstart
    root = smol_root(page)
    try:
        before = reset(page, root, layer=3)
        layer = root.get_by_test_id("bosw-layer")
        canvas = root.get_by_test_id("bosw-canvas")
        # keyboard: End jumps to the last layer
        layer.focus()
        page.keyboard.press("End")
        expect(layer).to_have_value("29")
        expect(root.get_by_test_id("bosw-header")).to_contain_text("layer 29/29")
        expect(canvas).to_have_attribute("aria-label", re.compile(r"layer 29\b"), timeout=60_000)
        after = jp.wait_canvas_settled(canvas, root)
        assert after["url"] != before["url"], "canvas pixels did not change with the layer"
        assert after["colours"] > 10, "canvas blank after the layer change"
        assert jp.execute(page, "smol.layer") == 29
        # mouse: drag the thumb to about the middle of the track
        drag_range_to(page, layer, 0.5)
        mid = int(layer.input_value())
        assert 10 <= mid <= 19, f"drag to the middle landed on layer {mid}"
        expect(canvas).to_have_attribute(
            "aria-label", re.compile(rf"layer {mid}\b"), timeout=60_000
        )
        dragged = jp.wait_canvas_settled(canvas, root)
        assert dragged["url"] not in (before["url"], after["url"]), "canvas did not follow the drag"
        assert jp.execute(page, "smol.layer") == mid
    finally:
        jp.shot(page, request.node.name, root)


def test_layer_slider_arrow_keys(quickstart, request):
    page = quickstart
    root = smol_root(page)
    try:
        reset(page, root, layer=3)
        layer = root.get_by_test_id("bosw-layer")
        layer.focus()
        page.keyboard.press("ArrowRight")
        page.keyboard.press("ArrowRight")
        expect(layer).to_have_value("5", timeout=10_000)
        assert jp.execute(page, "smol.layer") == 5
        canvas = root.get_by_test_id("bosw-canvas")  # arrows on the canvas move the query
        canvas.focus()
        page.keyboard.press("ArrowRight")
        page.keyboard.press("ArrowRight")
        selected = jp.execute(page, "smol.selected")
        assert isinstance(selected, int), f"arrow keys on the canvas selected {selected!r}"
    finally:
        jp.shot(page, request.node.name, root)


def test_head_slider_mouse_drag_sets_trait(quickstart, request):
    page = quickstart
    root = smol_root(page)
    try:
        before = reset(page, root, layer=10, head=-1)
        head = root.get_by_test_id("bosw-head")
        drag_range_to(page, head, 1.0)  # far right end: the last head
        expect(head).to_have_value("8")
        canvas = root.get_by_test_id("bosw-canvas")
        expect(canvas).to_have_attribute("aria-label", re.compile(r"head 8\b"), timeout=60_000)
        after = jp.wait_canvas_settled(canvas, root)
        assert after["url"] != before["url"], "canvas did not change with the head"
        assert jp.execute(page, "[smol.layer, smol.head]") == [10, 8]
    finally:
        jp.shot(page, request.node.name, root)


# ---- 2. Python -> slider ------------------------------------------------------------------


def test_python_sets_layer_and_head_moves_sliders(quickstart, request):
    page = quickstart
    root = smol_root(page)
    try:
        before = reset(page, root, layer=3, head=-1)
        assert jp.execute(page, "smol.layer = 17; smol.head = 4; [smol.layer, smol.head]") == [
            17,
            4,
        ]
        expect(root.get_by_test_id("bosw-layer")).to_have_value("17")
        expect(root.get_by_test_id("bosw-head")).to_have_value("4")
        header = root.get_by_test_id("bosw-header")
        expect(header).to_contain_text("layer 17/29")
        expect(header).to_contain_text("head 4/8")
        current = root.locator('[data-testid="bosw-cell"].current')
        expect(current).to_have_count(1)
        expect(current).to_have_attribute("data-layer", "17")
        expect(current).to_have_attribute("data-head", "4")
        canvas = root.get_by_test_id("bosw-canvas")
        expect(canvas).to_have_attribute("aria-label", re.compile(r"layer 17, head 4\b"))
        after = jp.wait_canvas_settled(canvas, root)
        assert after["url"] != before["url"], "canvas did not follow smol.layer/smol.head"
        # the threshold slider follows Python too
        jp.execute(page, "smol.threshold = 0.42; smol.threshold")
        expect(root.get_by_test_id("bosw-threshold")).to_have_value("0.42")
        expect(header).to_contain_text("ε 0.42")
    finally:
        jp.shot(page, request.node.name, root)


def test_grid_click_sets_layer_and_head(quickstart, request):
    page = quickstart
    root = smol_root(page)
    try:
        reset(page, root, layer=3, head=-1)
        cell = root.locator('[data-testid="bosw-cell"][data-layer="21"][data-head="6"]')
        cell.click()
        expect(root.get_by_test_id("bosw-layer")).to_have_value("21")
        expect(root.get_by_test_id("bosw-head")).to_have_value("6")
        expect(cell).to_have_class(re.compile(r"\bcurrent\b"))
        assert jp.execute(page, "[smol.layer, smol.head]") == [21, 6]
    finally:
        jp.shot(page, request.node.name, root)


# ---- 3. overview grid marks == Python sink summary ----------------------------------------


def test_grid_marks_match_python_sink_grid(quickstart, request):
    page = quickstart
    root = smol_root(page)
    try:
        reset(page, root, threshold=0.3)
        py_cells, py_means, thr = python_marked(page)
        assert thr == 0.3
        dom_cells, dom_means, total = dom_marked(root)
        assert total == 30 * 9
        assert py_cells, "expected some sink heads at eps 0.3 on SmolLM2"
        assert dom_cells == py_cells, (
            f"only in DOM: {sorted(dom_cells - py_cells)}; only in Python: "
            f"{sorted(py_cells - dom_cells)}"
        )
        assert dom_means == py_means

        # move the threshold with the mouse; the kernel and the marks follow
        thr_slider = root.get_by_test_id("bosw-threshold")
        drag_range_to(page, thr_slider, 0.75)
        ui_value = float(thr_slider.input_value())
        assert 0.6 <= ui_value <= 0.9, f"drag landed at {ui_value}"
        expect(root.get_by_test_id("bosw-header")).to_contain_text(f"ε {ui_value:.2f}")
        py_cells2, py_means2, thr2 = python_marked(page)
        assert thr2 == pytest.approx(ui_value), "Python threshold did not follow the slider"
        dom_cells2, dom_means2, _ = dom_marked(root)
        assert py_cells2 != py_cells, "raising eps should unmark some heads"
        assert len(py_cells2) < len(py_cells)
        assert dom_cells2 == py_cells2, (
            f"only in DOM: {sorted(dom_cells2 - py_cells2)}; only in Python: "
            f"{sorted(py_cells2 - dom_cells2)}"
        )
        assert dom_means2 == py_means2
    finally:
        jp.shot(page, request.node.name, root.get_by_test_id("bosw-grid"))


def test_token_sink_classes_match_python(quickstart, request):
    page = quickstart
    root = smol_root(page)
    try:
        reset(page, root, layer=3, head=-1, threshold=0.3)
        # D1 sink score per key (causal): mean over q >= k of A[q, k]
        alpha = jp.execute(
            page,
            "_A = smol._server.matrix(smol.layer, smol.head); _T = _A.shape[0]; "
            "[float(_A[k:, k].mean()) for k in range(_T)]",
        )
        tokens = root.get_by_test_id("bosw-token")
        expect(tokens).to_have_count(len(alpha))
        classes = tokens.evaluate_all("(ts) => ts.map(t => t.classList.contains('sink'))")
        for k, (a, on) in enumerate(zip(alpha, classes, strict=True)):
            if abs(a - 0.3) < 0.01:  # too close to eps to compare quantised slices
                continue
            assert on == (a >= 0.3), f"token {k}: alpha={a:.3f}, sink class {on}"
        assert classes[0], "position 0 should be a sink at layer 3 (mean of heads)"
    finally:
        jp.shot(page, request.node.name, root.get_by_test_id("bosw-tokens"))


# ---- 4. hover a token -> its arcs and numbers ---------------------------------------------


def _readout_pairs(text: str) -> list[tuple[int, float]]:
    """(key index, weight) pairs of the readout line "Query #q “..” attends to: #k “..” w, ..."."""
    line = next((ln for ln in text.splitlines() if "attends to" in ln), "")
    tail = line.split("attends to:", 1)[1] if line else ""
    return [(int(k), float(w)) for k, w in re.findall(r"#(\d+) “[^”]*” (\d\.\d+)", tail)]


def test_hover_token_shows_its_arcs_and_weights(quickstart, request):
    page = quickstart
    root = smol_root(page)
    try:
        before = reset(page, root, layer=3, head=-1)
        readout = root.get_by_test_id("bosw-readout")
        expect(readout).not_to_contain_text("attends to")
        q = 12
        token = root.locator(f'[data-testid="bosw-token"][data-index="{q}"]')
        label = token.inner_text()
        token.hover()
        expect(readout).to_contain_text(f"Query #{q} “{label}” attends to")
        canvas = root.get_by_test_id("bosw-canvas")
        hovered = jp.wait_canvas_change(canvas, before)
        assert hovered["url"] != before["url"], "hovering a token did not redraw its arcs"
        jp.shot(page, f"{request.node.name}-hovered")  # viewport as is: the hover stays
        pairs = _readout_pairs(readout.inner_text())
        assert pairs, f"no weights in the readout: {readout.inner_text()!r}"
        assert all(k <= q for k, _ in pairs), f"causal model: keys must be <= {q}: {pairs}"
        row = jp.execute(page, f"[float(x) for x in smol._server.matrix(3, -1)[{q}]]")
        for k, w in pairs:
            assert w == pytest.approx(row[k], abs=0.015), f"A[{q},{k}]: shown {w}, kernel {row[k]}"
        # leaving the strip restores the overview drawing
        page.mouse.move(1, 1)
        expect(readout).not_to_contain_text("attends to")
        back = jp.wait_canvas_settled(canvas, root)
        assert back["url"] == before["url"], "un-hovering did not restore the drawing"
    finally:
        jp.shot(page, request.node.name, root)


def test_hover_canvas_focuses_a_query(quickstart, request):
    page = quickstart
    root = smol_root(page)
    try:
        before = reset(page, root, layer=3, head=-1)
        canvas = root.get_by_test_id("bosw-canvas")
        readout = root.get_by_test_id("bosw-readout")
        box = canvas.bounding_box()
        assert box
        # the arcs' baseline runs along the bottom of the canvas, tokens spread left to right
        page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.8)
        expect(readout).to_contain_text("attends to")
        m = re.search(r"Query #(\d+)", readout.inner_text())
        assert m, readout.inner_text()
        q = int(m.group(1))
        assert 0 < q < 23
        hovered = jp.wait_canvas_change(canvas, before)
        assert hovered["url"] != before["url"], "hovering the canvas did not redraw"
        jp.shot(page, f"{request.node.name}-hovered")
        # moving further right focuses a later query
        page.mouse.move(box["x"] + box["width"] * 0.9, box["y"] + box["height"] * 0.8)
        expect(readout).not_to_contain_text(f"Query #{q} ")
        q2 = int(re.search(r"Query #(\d+)", readout.inner_text()).group(1))
        assert q2 > q
    finally:
        jp.shot(page, request.node.name, root)
