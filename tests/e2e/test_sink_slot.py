"""Learned sink logits in a real browser (JupyterLab 4): a tiny gpt-oss built in code opens
with the "sink slot" drawn as its own labelled column right of the matrix, on the matrix's
colour scale, and as a target left of the tokens in the arc view; the readout lists it among
the sink keys with Python's score, hovering it reads p_sink, and hiding sinks says it goes too.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from . import jupyter as jp

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

NOTEBOOK = "sink_slot.ipynb"
TEXT = "the cat sat on the mat and ran to the house"
CELLS = [
    "import bos_widget\nfrom tests.unit import tiny\nfrom tests.unit.tiny_gptoss import gpt_oss\n"
    f"w = bos_widget.AttentionWidget.from_model(gpt_oss(), tiny.tokenizer(), {TEXT!r}, "
    "layer=1, head=3, view='matrix')\nw",
]

# colour at (x, y) in CSS px of the canvas, as "r,g,b"
PIXEL = """(c, [x, y]) => {
    const r = c.width / c.getBoundingClientRect().width;
    const d = c.getContext('2d').getImageData(Math.floor(x * r), Math.floor(y * r), 1, 1).data;
    return [d[0], d[1], d[2]];
}"""


def _geometry(canvas) -> tuple[float, float, float, float]:
    x0, y0, size = (float(v) for v in (canvas.get_attribute("data-matrix") or "").split())
    return x0, y0, size, float(canvas.get_attribute("data-slot") or "nan")


@pytest.mark.parametrize("server", ["lab"], indirect=True)  # one UI: same widget code
def test_sink_slot_is_drawn_labelled_and_read_out(server, browser):
    with jp.notebook_page(browser, server, NOTEBOOK, CELLS, widgets=1) as page:
        root = page.get_by_test_id("bosw-root")
        canvas = root.get_by_test_id("bosw-canvas")
        readout = root.get_by_test_id("bosw-readout")
        try:
            expect(root).to_have_attribute("data-painted", "1|3|raw:matrix", timeout=60_000)
            assert jp.execute(page, "w.meta['sink_slot']") is True
            slot = jp.execute(page, "[round(float(v), 4) for v in w.run.sink_slot[1, 3]]")
            alpha = jp.execute(page, "round(float(w.run.slot_scores()[1, 3]), 4)")
            T = len(slot)
            assert "with sink slot" in (canvas.get_attribute("aria-label") or "")
            expect(readout).to_contain_text(f"sink slot α = {alpha:.2f} over {T} queries")
            expect(readout).to_contain_text("sink slot (learned sink logit, not a token)")
            expect(readout).to_contain_text("rows sum to 1 − p_sink, not renormalised")
            jp.shot(page, "sink-slot-matrix", root)

            # the slot column: right of the matrix, on the matrix's colour scale (the colour
            # bar beside it), one value per query row
            x0, y0, size, sx = _geometry(canvas)
            assert sx > x0 + size
            bar_x = sx - 8 + 16 + 38 + 5  # matrix.ts: bar at x0 + size + 16 + SLOT_RESERVE; mid-bar
            rows = [0, T // 2, T - 1]
            for q in rows:
                y = y0 + (q + 0.5) * size / T
                got = canvas.evaluate(PIXEL, [sx + 7, y])
                want = canvas.evaluate(PIXEL, [bar_x, y0 + size * (1 - slot[q] ** 0.5)])
                assert max(abs(a - b) for a, b in zip(got, want, strict=True)) <= 12, (q, got, want)
            # p_sink falls along the rows here, so the column is not one flat colour
            top = canvas.evaluate(PIXEL, [sx + 7, y0 + 0.5 * size / T])
            bottom = canvas.evaluate(PIXEL, [sx + 7, y0 + (T - 0.5) * size / T])
            assert top != bottom

            # hovering the slot's cell of query 2 reads p_sink from the reply
            canvas.scroll_into_view_if_needed()
            box = canvas.bounding_box()
            assert box is not None
            page.mouse.move(box["x"] + sx + 7, box["y"] + y0 + 2.5 * size / T)
            expect(readout).to_contain_text("p_sink [q=#2")
            shown = re.search(r"p_sink \[q=#2 “[^”]*”\] = ([0-9.]+)", readout.inner_text())
            assert shown is not None and abs(float(shown.group(1)) - slot[2]) <= 2e-3
            page.mouse.move(box["x"] + 2, box["y"] + 2)

            # arcs: the slot's target sits left of the tokens
            jp.execute(page, "w.view = 'arcs'; 0")
            expect(root).to_have_attribute("data-painted", "1|3|raw:arcs")
            ax, base = (float(v) for v in (canvas.get_attribute("data-slot") or "").split())
            ink = canvas.evaluate(PIXEL, [ax, base])
            paper = canvas.evaluate(PIXEL, [ax, base - 40])
            assert ink != paper  # the slot's dot and its arcs
            jp.shot(page, "sink-slot-arcs", root)

            # hiding sinks removes the slot too, and says so
            jp.execute(page, "w.hide_sinks = True; 0")
            expect(root).to_have_attribute("data-painted", "1|3|raw:arcs:hidden")
            label = canvas.get_attribute("aria-label") or ""
            assert "sinks and sink slot hidden, rows renormalised" in label
            assert canvas.get_attribute("data-slot") == ""
            expect(readout).to_contain_text("hidden with the sinks")

            # above its score the slot is not a sink
            jp.execute(page, "w.hide_sinks = False; 0")
            jp.execute(page, f"w.threshold = {min(alpha + 0.05, 1.0)}; 0")
            expect(readout).to_contain_text("not a sink")
        finally:
            jp.shot(page, "sink-slot-final", root)
