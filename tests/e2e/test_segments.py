"""The sentence A / B filter in a real browser (JupyterLab 4): bertviz's head_view with
``sentence_b_start`` shows the "Sentences" select; choosing "A → B" in the page sets the
``segment`` trait in Python and leaves only sentence-A queries x sentence-B keys inked in the
matrix; setting the trait from Python moves the select. A run without a pair has no select.
The page ``html_action='return'`` gives keeps the filter and the theme, offline.
"""

from __future__ import annotations

import numpy as np
import pytest
from playwright.sync_api import expect

from bos_widget import head_view

from . import jupyter as jp

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

NOTEBOOK = "segments.ipynb"
T, B_START = 6, 3
CELLS = [
    "import IPython.display as _d\nimport numpy as np\nimport bos_widget\n"
    "from bos_widget import head_view\n"
    f"A = np.full((1, 2, {T}, {T}), 1 / {T}, np.float32)  # uniform: every cell the same\n"
    "shown, _show = [], _d.display\n"
    "_d.display = lambda *o, **k: (shown.extend(o), _show(*o, **k))\n"
    "head_view([A, A], ['[CLS]', 'a', 'b', '[SEP]', 'c', 'd'], "
    f"{B_START}, display_mode='dark')\n"
    "_d.display = _show\n"
    "w = shown[0]; w.view = 'matrix'",
    "bos_widget.AttentionWidget.from_attentions(np.full((1, 1, 4, 4), 0.25, np.float32), "
    "['a', 'b', 'c', 'd'])",
]

# colour of the matrix cell (q, k), from the geometry the painter publishes (data-matrix)
CELL_COLOURS = """(c, [cells, T]) => {
    const [x0, y0, size] = c.dataset.matrix.split(' ').map(Number);
    const r = c.width / c.getBoundingClientRect().width;
    const ctx = c.getContext('2d');
    return cells.map(([q, k]) => {
        const x = Math.floor((x0 + (k + 0.5) * size / T) * r);
        const y = Math.floor((y0 + (q + 0.5) * size / T) * r);
        return Array.from(ctx.getImageData(x, y, 1, 1).data).join(',');
    });
}"""


@pytest.mark.parametrize("server", ["lab"], indirect=True)  # one UI: same widget code
def test_sentence_filter_from_the_page_and_from_python(server, browser, request):
    with jp.notebook_page(browser, server, NOTEBOOK, CELLS, widgets=2) as page:
        pair, single = page.get_by_test_id("bosw-root").all()
        try:
            select = pair.get_by_test_id("bosw-segment")
            expect(select).to_be_visible()
            expect(single.get_by_test_id("bosw-segment")).to_be_hidden()
            assert select.evaluate("s => [...s.options].map(o => o.value)") == [
                "all",
                "A→A",
                "A→B",
                "B→A",
                "B→B",
            ]
            expect(pair).to_have_attribute("data-theme", "dark")
            expect(single).to_have_attribute("data-theme", "auto")
            expect(pair).to_have_attribute("data-painted", "0|-1|raw:matrix", timeout=60_000)
            canvas = pair.get_by_test_id("bosw-canvas")
            # (q, k): A→A, A→B, B→A, B→B cells
            cells = [[0, 1], [1, 4], [4, 0], [5, 5]]
            aa, ab, ba, bb = canvas.evaluate(CELL_COLOURS, [cells, T])
            assert aa == ab == ba == bb  # uniform attention, nothing filtered

            select.select_option("A→B")
            expect(pair).to_have_attribute("data-painted", "0|-1|raw:matrix:A→B")
            assert jp.execute(page, "w.segment") == "A→B"
            aa, ab, ba, bb = canvas.evaluate(CELL_COLOURS, [cells, T])
            assert ab != aa and aa == ba == bb, (aa, ab, ba, bb)  # only A→B keeps its weight
            label = canvas.get_attribute("aria-label") or ""
            assert "only sentence A (0–2) → sentence B (3–5)" in label

            jp.execute(page, "w.segment = 'B->B'; w.segment")
            expect(select).to_have_value("B→B")
            expect(pair).to_have_attribute("data-painted", "0|-1|raw:matrix:B→B")
            aa, ab, ba, bb = canvas.evaluate(CELL_COLOURS, [cells, T])
            assert bb != aa and aa == ab == ba, (aa, ab, ba, bb)
        finally:
            jp.shot(page, request.node.name, pair)


def test_returned_page_keeps_the_filter_and_theme_offline(browser, tmp_path):
    """head_view(..., html_action='return').data saved as a file (the bertviz recipe) opens from
    file:// with nothing fetched, dark, with the Sentences select working without a kernel."""
    A = np.full((2, 1, 2, T, T), 1 / T, np.float32)
    tokens = ["[CLS]", "a", "b", "[SEP]", "c", "d"]
    page_html = head_view(list(A), tokens, B_START, display_mode="dark", html_action="return")
    path = tmp_path / "head_view.html"
    path.write_text(page_html.data)
    with jp.new_page(browser, width=1200, height=900, offline=True) as (page, seen):
        page.goto(path.as_uri())
        root = page.get_by_test_id("bosw-root")
        expect(root).to_have_attribute("data-theme", "dark")
        expect(root).to_have_attribute("data-painted", "0|-1|raw:arcs")
        root.get_by_test_id("bosw-segment").select_option("B→A")
        expect(root).to_have_attribute("data-painted", "0|-1|raw:arcs:B→A")
        assert seen.blocked == []
