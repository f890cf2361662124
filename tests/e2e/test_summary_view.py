"""Summary mode in a real browser (JupyterLab): the view says what it left out, draws the mean
of heads, keeps the head slider on it, and a click in the overview grid moves only the layer.

A tiny Llama captured with ``keep="summary"`` stands in for a long input (at T = 4096 SmolLM2
switches to summary mode by itself; that takes minutes here, see ``make bench``).
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from . import jupyter as jp

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

NOTEBOOK = "summary_view.ipynb"
CELLS = [
    f"import sys\nsys.path.insert(0, {str(jp.REPO)!r})\n"
    "import bos_widget\nfrom tests.unit import tiny\n"
    "run = bos_widget.capture(tiny.llama(), tiny.tokenizer(),\n"
    "    'the quick brown fox jumps over the lazy dog', keep='summary')\n"
    "summ = bos_widget.AttentionWidget(run, view='matrix', layer=0)\n"
    "summ",
]


@pytest.fixture(scope="module")
def summary_page(server, browser):
    if server.flavour != "lab":
        pytest.skip("summary mode is checked in JupyterLab; Notebook 7 shares its front end")
    with jp.notebook_page(browser, server, NOTEBOOK, CELLS, widgets=1) as page:
        yield page


def test_summary_mode_says_what_it_left_out_and_keeps_the_mean(summary_page, request):
    page = summary_page
    root = page.get_by_test_id("bosw-root")
    try:
        note = root.get_by_test_id("bosw-summary")
        expect(note).to_contain_text("Summary mode")
        expect(note).to_contain_text("only the mean of heads")
        expect(root.get_by_test_id("bosw-header")).to_contain_text("mean of heads + sink scores")
        head = root.get_by_test_id("bosw-head")
        expect(head).to_be_disabled()
        expect(root).to_have_attribute("data-painted", "0|-1|raw:matrix")
        # the grid still shows every head's sink score; a click moves the layer, not the head
        cells = root.get_by_test_id("bosw-cell")
        expect(cells).to_have_count(3 * 4)
        root.locator('[data-testid="bosw-cell"][data-layer="2"][data-head="3"]').click()
        expect(root).to_have_attribute("data-painted", "2|-1|raw:matrix")
        assert jp.execute(page, "[summ.layer, summ.head]") == [2, -1]
        # asking Python for a single head is refused with the reason, and nothing changes
        err = jp.execute(
            page,
            'exec(\'try:\\n    summ.head = 1\\n    e = ""\\nexcept Exception as x:\\n'
            "    e = str(x)'); [e, summ.head]",
        )
        assert isinstance(err, list) and "Only head=-1" in err[0] and err[1] == -1
        expect(root.get_by_test_id("bosw-error")).to_be_hidden()
    finally:
        jp.shot(page, request.node.name, root)
