"""Corpus overview in a real browser (JupyterLab): the grid draws every layer x head coloured
by mean α₀ with a readout of the interval and n, the strip shows the selected head on every
text, keys and clicks move the selection, and picking a text opens the normal view of it.

SmolLM2 on the first 24 texts of explain's corpus at T = 64. Its screenshot is the README's
docs/corpus_grid.png (written there with BOSW_DOCS_SHOTS=1).
"""

from __future__ import annotations

import os
import re

import pytest
from playwright.sync_api import expect

from . import jupyter as jp

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

NOTEBOOK = "corpus_view.ipynb"
N = 24  # the first 24 of explain's texts (all 12 genres): capture takes ~2 s a text here
CELLS = [
    f"import sys\nsys.path.insert(0, {str(jp.REPO)!r})\n"
    "import bos_widget\n"
    "model, tok = bos_widget.demo_model('smollm2')\n"
    "from bos_widget.corpus import load_corpus\n"
    f"cv = bos_widget.corpus_view(load_corpus({N}), model=model, tokenizer=tok, progress=False)\n"
    "cv",
]
# the README's docs/corpus_grid.png is this picture; BOSW_DOCS_SHOTS=1 writes it there too
DOCS_SHOT = jp.REPO / "docs" / "corpus_grid.png"


@pytest.fixture(scope="module")
def corpus_page(server, browser):
    if server.flavour != "lab":
        pytest.skip("the corpus view is checked in JupyterLab; Notebook 7 shares its front end")
    with jp.notebook_page(browser, server, NOTEBOOK, CELLS, widgets=0) as page:
        expect(page.get_by_test_id("bosw-corpus")).to_be_visible(timeout=jp.RENDER_TIMEOUT_MS)
        yield page


def test_corpus_grid_draws_clicks_and_opens_a_text(corpus_page, request):
    page = corpus_page
    root = page.get_by_test_id("bosw-corpus")
    try:
        assert jp.execute(page, "bos_widget.__file__").startswith(str(jp.REPO))
        cells = root.get_by_test_id("bosw-corpus-cell")
        expect(cells).to_have_count(30 * 9)
        caption = root.get_by_test_id("bosw-corpus-caption")
        for part in ("SmolLM2", f"n = {N} texts", "T = 64", "no BOS added", "bootstrap"):
            expect(caption).to_contain_text(part)
        # colour follows the mean: the highest- and lowest-mean heads are painted differently
        hi_lo = jp.execute(
            page,
            "import numpy as np; m = np.array(cv.grid.mean); "
            "[list(map(int, np.unravel_index(m.argmax(), m.shape))), "
            "list(map(int, np.unravel_index(m.argmin(), m.shape)))]",
        )
        assert isinstance(hi_lo, list)
        (lh, hh), (ll, hl) = hi_lo

        def bg(l: int, h: int) -> str:
            cell = root.locator(
                f'[data-testid="bosw-corpus-cell"][data-layer="{l}"][data-head="{h}"]'
            )
            return cell.evaluate("e => getComputedStyle(e).backgroundColor")

        assert bg(lh, hh) != bg(ll, hl)
        # click a cell: Python's selection, the readout (mean [lo, hi], n) and the strip follow
        root.locator('[data-testid="bosw-corpus-cell"][data-layer="5"][data-head="3"]').click()
        expect(root).to_have_attribute("data-selected", "5|3")
        assert jp.execute(page, "[cv.layer, cv.head]") == [5, 3]
        readout = root.get_by_test_id("bosw-corpus-readout")
        expect(readout).to_have_text(
            re.compile(rf"layer 5, head 3: mean α₀ = \d\.\d\d \[\d\.\d\d, \d\.\d\d\] over n = {N}")
        )
        want = jp.execute(page, "[f'{v:.2f}' for v in cv.data.head(5, 3)[:3]]")
        texts = root.get_by_test_id("bosw-corpus-text")
        expect(texts).to_have_count(N)
        assert isinstance(want, list)
        for i, v in enumerate(want):
            expect(texts.nth(i)).to_have_attribute("title", re.compile(rf"^text {i}: α₀ = {v} — "))
        # keyboard: the current cell takes focus; arrows move layer and head
        root.locator('[data-testid="bosw-corpus-cell"][data-layer="5"][data-head="3"]').focus()
        page.keyboard.press("ArrowRight")
        page.keyboard.press("ArrowDown")
        expect(root).to_have_attribute("data-selected", "6|4")
        assert jp.execute(page, "[cv.layer, cv.head]") == [6, 4]
        # picking a text opens the normal view of it at that head, below the grid
        texts.nth(2).click()
        expect(root).to_have_attribute("data-opened", "2", timeout=jp.RENDER_TIMEOUT_MS)
        opened = page.get_by_test_id("bosw-root")
        expect(opened).to_have_count(1, timeout=jp.RENDER_TIMEOUT_MS)
        expect(opened.get_by_test_id("bosw-header")).to_contain_text("text 2")
        got = jp.execute(page, "w = cv.attention; [w.layer, w.head, w.tokens[0], cv.grid.opened]")
        assert got == [6, 4, jp.execute(page, "cv.data.first_tokens[2]"), 2]
        root.scroll_into_view_if_needed()
        root.screenshot(path=str(jp.ARTIFACTS / "corpus_grid.png"))
        if os.environ.get("BOSW_DOCS_SHOTS") == "1":
            root.screenshot(path=str(DOCS_SHOT))
    finally:
        jp.shot(page, request.node.name, root)
