"""Cross-attention in a real browser (JupyterLab): ``from_model`` on a tiny T5 opens the
three-part view; the cross part draws decoder queries on a top row and encoder keys on a bottom
row, hovering a decoder query shows its arcs and weights, the matrix is [T_dec, T_enc], hide
sinks and norm weighting redraw, Save PNG downloads the figure, and the toggle switches to the
encoder's self-attention. What is drawn is read from the canvas pixels and the readout.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from . import jupyter as jp

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

NOTEBOOK = "cross_view.ipynb"
CELLS = [
    f"import sys\nsys.path.insert(0, {str(jp.REPO)!r})\n"
    "import bos_widget\nfrom tests.unit import tiny\n"
    "view = bos_widget.AttentionWidget.from_model(tiny.t5(), tiny.tokenizer(),\n"
    "    'the quick brown fox jumps over the lazy dog', decoder_text='a cat sat',\n"
    "    threshold=0.12, layer=0)\n"
    "view.part = 'cross'\n"
    "cross = view.cross\n"
    "view",
]
SINK = (232, 89, 12)  # light theme's sink colour (js/src/draw/theme.ts)


def _pixels(canvas, box: tuple[float, float, float, float], rgb: tuple[int, int, int]) -> int:
    """Pixels of colour ``rgb`` (within 40 per channel, any alpha) in a box of CSS pixels."""
    return canvas.evaluate(
        """(c, [x0, y0, x1, y1, r, g, b]) => {
            const s = c.width / c.getBoundingClientRect().width;
            const ctx = c.getContext('2d');
            const w = Math.round((x1 - x0) * s), h = Math.round((y1 - y0) * s);
            const { data } = ctx.getImageData(Math.round(x0 * s), Math.round(y0 * s), w, h);
            let n = 0;
            for (let i = 0; i < data.length; i += 4) {
                if (data[i + 3] < 40) continue;
                if (Math.abs(data[i] - r) < 40 && Math.abs(data[i + 1] - g) < 40
                    && Math.abs(data[i + 2] - b) < 40) n++;
            }
            return n;
        }""",
        [*box, *rgb],
    )


@pytest.fixture(scope="module")
def cross_page(server, browser):
    if server.flavour != "lab":
        pytest.skip("cross-attention is checked in JupyterLab; Notebook 7 shares its front end")
    with jp.notebook_page(browser, server, NOTEBOOK, CELLS, widgets=1) as page:
        yield page


def test_cross_attention_draws_two_token_rows_and_every_control_works(cross_page, request):
    page = cross_page
    root = page.get_by_test_id("bosw-root")
    canvas = root.get_by_test_id("bosw-canvas")
    try:
        t_dec, t_enc, queries = jp.execute(
            page, "[cross.run.T_q, cross.run.T, list(cross.run.query_tokens)]"
        )
        assert (t_dec, t_enc) == (4, 10)  # <pad> <bos> a cat | <bos> + 9 words
        header = root.get_by_test_id("bosw-header")
        expect(header).to_contain_text(f"{t_dec} decoder × {t_enc} encoder")
        expect(header).to_contain_text("cross (decoder → encoder)")
        expect(root).to_have_attribute("data-painted", "0|-1|raw:arcs")
        expect(canvas).to_have_attribute(
            "aria-label", "Attention arcs, layer 0, mean of heads, raw"
        )
        sig = jp.wait_canvas_settled(canvas, root)
        assert sig["inked"] > 5_000 and sig["colours"] > 20, sig
        # the strip lists the encoder's tokens (the keys), sinks marked there
        shown = root.get_by_test_id("bosw-token").evaluate_all("els => els.map(e => e.textContent)")
        assert len(shown) == t_enc
        sinks = jp.execute(
            page, "[int(k) for k in (cross._server.sink_scores(0, -1) > 0.12).nonzero()[0]]"
        )
        assert sinks, "the test needs at least one sink key at eps 0.12"
        expect(root.locator(".bosw-token.sink")).to_have_count(len(sinks))
        readout = root.get_by_test_id("bosw-readout")
        expect(readout).to_contain_text(f"over {t_dec} queries")  # α over the decoder queries
        # what is drawn: a top (decoder) and a bottom (encoder) row; sink dots on the bottom
        box = canvas.bounding_box()
        assert box is not None
        w, h = box["width"], box["height"]
        lower = _pixels(canvas, (0, h * 0.55, w, h), SINK)
        upper = _pixels(canvas, (0, 0, w, h * 0.25), SINK)
        assert lower > 20 and lower > 4 * upper, (lower, upper)
        # hovering a decoder query (top row) shows its arcs and its weights in the readout
        x = 58 + (w - 14 - 58) * (1.5 / t_dec)  # query 1's slot (crossarcs.ts: NAME_W = 58)
        before = jp.canvas_signature(canvas)
        canvas.hover(position={"x": x, "y": h * 0.3})
        expect(readout).to_contain_text(f"Query #1 “{queries[1]}” attends to:")
        assert jp.wait_canvas_change(canvas, before)["url"] != before["url"]
        page.mouse.move(1, 1)
        canvas.click(position={"x": x, "y": h * 0.3})
        assert jp.execute(page, "cross.selected") == 1
        # matrix: decoder queries are the rows, encoder keys the columns
        root.get_by_test_id("bosw-view").select_option("matrix")
        expect(root).to_have_attribute("data-painted", "0|-1|raw:matrix")
        expect(readout).to_contain_text("Matrix: rows are queries")
        # a rectangular heatmap: 4 decoder rows of 10 square encoder cells
        x0, y0, mw, mh = (float(v) for v in (canvas.get_attribute("data-matrix") or "").split())
        assert abs(mw / mh - t_enc / t_dec) < 0.05, (mw, mh)
        canvas.hover(position={"x": x0 + mw * 2.5 / t_enc, "y": y0 + mh * 3.5 / t_dec})
        expect(readout).to_contain_text(f"A[q=#3 “{queries[3]}”, k=#2 “quick”] = ")
        page.mouse.move(1, 1)
        expect(canvas).to_have_attribute(
            "aria-label", "Attention matrix, layer 0, mean of heads, raw"
        )
        # the same controls: head, hide sinks, norm weighting (the value norms exist)
        root.get_by_test_id("bosw-head").focus()
        page.keyboard.press("ArrowRight")
        expect(root).to_have_attribute("data-painted", "0|0|raw:matrix")
        root.get_by_test_id("bosw-hide-sinks").check()
        expect(root).to_have_attribute("data-painted", "0|0|raw:matrix:hidden")
        expect(readout).to_contain_text("Sinks hidden, rows renormalised")
        root.get_by_test_id("bosw-weighting").select_option("norm")
        expect(root).to_have_attribute("data-painted", "0|0|norm:matrix:hidden")
        state = jp.execute(page, "[cross.view, cross.head, cross.hide_sinks, cross.weighting]")
        assert state == ["matrix", 0, True, "norm"]
        expect(root.get_by_test_id("bosw-error")).to_be_hidden()
        jp.shot(page, f"{request.node.name}-matrix", root)
    finally:
        jp.shot(page, request.node.name, root)


def test_save_png_and_the_switch_to_the_encoder(cross_page, tmp_path, request):
    page = cross_page
    root = page.get_by_test_id("bosw-root")
    try:
        jp.execute(page, "cross.view = 'arcs'; cross.hide_sinks = False; cross.view")
        expect(root).to_have_attribute("data-painted", "0|0|norm:arcs")
        with page.expect_download() as info:
            root.get_by_test_id("bosw-save").click()
        saved = tmp_path / info.value.suggested_filename
        info.value.save_as(saved)
        assert saved.name == "bos_widget_T5ForConditionalGeneration_cross_L0_h0_norm_arcs.png"
        assert saved.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        # the toggle shows the encoder's self-attention: a square run, no decoder row
        page.get_by_role("button", name="encoder self-attention").click()
        assert jp.execute(page, "view.part") == "encoder"
        header = page.get_by_test_id("bosw-header")
        expect(header).not_to_contain_text("decoder ×")
        expect(header).to_contain_text("bidirectional")
        page.get_by_role("button", name="cross-attention").click()
        expect(page.get_by_test_id("bosw-header")).to_contain_text("decoder ×")
    finally:
        jp.shot(page, request.node.name)
