"""A long text in a real browser, JupyterLab 4 and Notebook 7: the token strip shows a window
(never thousands of elements), the caption states the 8-bit quantisation of large slices, and
the matrix zooms by drag and resets with its button.

The notebook (``long_text.ipynb``, written into the server's root) shows synthetic causal
attention over T = 1100 tokens through ``from_attentions`` (no model to load): every query
puts half its weight on token 0 and spreads the rest evenly over keys 1..q.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator, Page, expect

from . import jupyter as jp

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

T = 1100
NOTEBOOK = "long_text.ipynb"
CELLS = [
    "import numpy as np\nimport bos_widget\n"
    f"T = {T}\nA = np.zeros((T, T), np.float32)\nA[0, 0] = 1\n"
    "for q in range(1, T):\n    A[q, 0] = 0.5\n    A[q, 1 : q + 1] = 0.5 / q\n"
    "att = np.broadcast_to(A, (2, 2, T, T))\n"
    "long = bos_widget.AttentionWidget.from_attentions("
    "att, [f't{i}' for i in range(T)], model='synthetic-long', causal=True)\nlong",
]


@pytest.fixture(scope="module")
def long_page(server, browser):
    """A page on which long_text.ipynb ran: one widget over T synthetic tokens."""
    with jp.notebook_page(browser, server, NOTEBOOK, CELLS, widgets=1) as page:
        yield page


def long_root(page: Page) -> Locator:
    root = page.get_by_test_id("bosw-root").first
    expect(root.get_by_test_id("bosw-header")).to_contain_text("synthetic-long")
    root.get_by_test_id("bosw-canvas").scroll_into_view_if_needed()
    jp.wait_canvas_settled(root.get_by_test_id("bosw-canvas"), root)
    return root


def test_token_strip_shows_a_window_around_the_selection_and_the_sink(long_page, request):
    page = long_page
    root = long_root(page)
    try:
        assert jp.execute(page, "long.selected = None; long.threshold = 0.3; long.selected") is None
        tokens = root.get_by_test_id("bosw-token")
        note = root.get_by_test_id("bosw-strip-note")
        expect(note).to_contain_text(f"Showing tokens 0–299 of {T}")
        assert tokens.count() == 300
        sink = root.locator('[data-testid="bosw-token"][data-index="0"]')
        expect(sink).to_have_class(re.compile(r"\bsink\b"))
        # selecting a late query from Python moves the window there; the sink stays listed
        jp.execute(page, "long.selected = 900; long.selected")
        expect(root.locator('[data-testid="bosw-token"][data-index="900"]')).to_have_class(
            re.compile(r"\bselected\b")
        )
        expect(note).to_contain_text(f"of {T} and 1 sink token")
        assert tokens.count() <= 300
        expect(sink).to_have_class(re.compile(r"\bsink\b"))
        expect(root.locator('[data-testid="bosw-token"][data-index="100"]')).to_have_count(0)
    finally:
        jp.execute(page, "long.selected = None; long.selected")
        jp.shot(page, request.node.name, root)


def test_caption_states_quantisation_and_zoom_follows_a_drag_and_resets(long_page, request):
    page = long_page
    root = long_root(page)
    try:
        caption = root.get_by_test_id("bosw-figcaption")
        expect(caption).to_contain_text(re.compile(r"values quantised to 8 bits \(error ≤ 0\.00"))
        expect(caption).to_contain_text(f"queries 0–{T - 1}, keys 0–{T - 1} of T = {T}")
        reset_button = root.get_by_test_id("bosw-zoom-reset")
        expect(reset_button).to_be_disabled()
        expect(reset_button).to_have_attribute("data-lm-suppress-shortcuts", "true")
        canvas = root.get_by_test_id("bosw-canvas")
        before = jp.wait_canvas_settled(canvas, root)
        # drag from about a quarter of the matrix to its middle; data-matrix = "x0 y0 size"
        hit = canvas.evaluate(
            """(c) => { const r = c.getBoundingClientRect();
                        return { left: r.left, top: r.top, m: c.dataset.matrix }; }"""
        )
        x0, y0, size = map(float, hit["m"].split())
        left, top = hit["left"] + x0, hit["top"] + y0
        page.mouse.move(left + size * 0.25, top + size * 0.25)
        page.mouse.down()
        page.mouse.move(left + size * 0.4, top + size * 0.4, steps=4)
        page.mouse.move(left + size * 0.5, top + size * 0.5, steps=4)
        page.mouse.up()
        expect(reset_button).to_be_enabled()
        text = caption.inner_text()
        m = re.search(r"queries (\d+)–(\d+), keys (\d+)–(\d+)", text)
        assert m, text
        q0, q1, k0, k1 = map(int, m.groups())
        assert 200 < q0 < 350 and 450 < q1 < 600, text
        assert 200 < k0 < 350 and 450 < k1 < 600, text
        expect(canvas).to_have_attribute("aria-label", re.compile(r"zoom: queries"))
        zoomed = jp.wait_canvas_change(canvas, before)
        assert zoomed["url"] != before["url"], "zooming did not redraw the matrix"
        assert jp.execute(page, "long.selected") is None, "a drag must not select a query"
        reset_button.click()
        expect(caption).to_contain_text(f"queries 0–{T - 1}, keys 0–{T - 1}")
        expect(reset_button).to_be_disabled()
        back = jp.wait_canvas_settled(canvas, root)
        assert back["url"] == before["url"], "reset zoom did not restore the whole matrix"
    finally:
        jp.shot(page, request.node.name, root)
