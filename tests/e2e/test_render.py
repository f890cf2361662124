"""quickstart.ipynb opens, runs and draws both widgets in JupyterLab 4 and Notebook 7."""

import pytest
from playwright.sync_api import expect

from . import jupyter as jp

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]


def test_quickstart_renders(quickstart, request):
    page = quickstart
    roots = page.get_by_test_id("bosw-root")
    expect(roots).to_have_count(2)
    smol, mini = roots.nth(0), roots.nth(1)
    try:
        for root, model in ((smol, "smollm2"), (mini, "minilm")):
            root.scroll_into_view_if_needed()
            expect(root).to_be_visible()
            expect(root.get_by_test_id("bosw-header")).to_contain_text(model, ignore_case=True)
            expect(root.get_by_test_id("bosw-error")).to_be_hidden()
            canvas = root.get_by_test_id("bosw-canvas")
            expect(canvas).to_be_visible()
            sig = jp.wait_canvas_settled(canvas, root)
            assert sig["width"] > 0 and sig["height"] > 0, sig
            # an arcs drawing has text, arcs and swatches: many colours, a lot of ink
            assert sig["colours"] > 10, f"{model}: canvas looks blank ({sig['colours']} colours)"
            assert sig["inked"] > 0.01 * sig["width"] * sig["height"], sig
            expect(root.get_by_test_id("bosw-token").first).to_be_visible()
        # the notebook's own cell set smol.layer = 3, head = -1 before mini was drawn
        expect(smol.get_by_test_id("bosw-layer")).to_have_value("3")
        expect(smol.get_by_test_id("bosw-head")).to_have_value("-1")
        expect(mini.get_by_test_id("bosw-header")).to_contain_text("[CLS]")
    finally:
        jp.shot(page, request.node.name, smol)
