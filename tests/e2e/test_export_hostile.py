"""Hostile token and model text in the exported HTML page (issue 7): the strings of
test_hostile_text.py, written by ``to_html`` and opened from file:// in Chromium with every
non-file request aborted, are shown as text and never run: no dialog, no element made from
them, no page error, nothing fetched.
"""

from __future__ import annotations

import numpy as np
import pytest
from playwright.sync_api import expect

from bos_widget import AttentionWidget

from . import jupyter as jp
from .test_hostile_text import HOSTILE, MARKED

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

MODEL = "<img src=x onerror=alert(4)> model \"</script><script>alert(5)</script>'"


@pytest.fixture
def hostile_export(browser, tmp_path):
    """The exported page of a widget with hostile tokens and model name, opened offline."""
    T = len(HOSTILE)
    A = np.tril(np.ones((T, T), np.float32))
    A /= A.sum(-1, keepdims=True)
    w = AttentionWidget.from_attentions(
        np.broadcast_to(A, (2, 2, T, T)), HOSTILE, model=MODEL, causal=True
    )
    path = w.to_html(tmp_path / "hostile.html")
    with jp.new_page(browser, width=1200, offline=True) as (page, seen):
        page.goto(path.as_uri())
        yield page, seen


def test_hostile_text_in_the_exported_page_is_shown_and_never_runs(hostile_export, request):
    page, seen = hostile_export
    root = page.get_by_test_id("bosw-root")
    try:
        expect(root).to_have_attribute("data-painted", "0|-1|raw:arcs")
        # repaint with every token's text: hover each, then move both sliders
        for i in range(len(HOSTILE)):
            root.locator(f'[data-testid="bosw-token"][data-index="{i}"]').hover()
        page.mouse.move(1, 1)
        root.get_by_test_id("bosw-layer").focus()
        page.keyboard.press("ArrowRight")
        expect(root).to_have_attribute("data-painted", "1|-1|raw:arcs")
        root.get_by_test_id("bosw-head").focus()
        page.keyboard.press("End")
        expect(root).to_have_attribute("data-painted", "1|1|raw:arcs")
        root.get_by_test_id("bosw-view").select_option("matrix")
        expect(root).to_have_attribute("data-painted", "1|1|raw:matrix")

        assert seen.dialogs == [], f"a dialog opened: {seen.dialogs}"
        errors = seen.errors + seen.console_errors
        assert errors == [], f"page errors: {errors}"
        assert seen.blocked == [], f"the page tried to fetch: {seen.blocked}"
        # the page's own two scripts (data and bundle) and no element made from the text
        scripts = page.evaluate("() => [...document.scripts].map(s => s.id || s.type || 'js')")
        assert len(scripts) == 2 and "bosw-data" in scripts, scripts
        injected = page.evaluate(
            """() => [...document.querySelectorAll('img, svg, iframe, object, embed, a, form')]
                    .map(e => e.outerHTML.slice(0, 80))"""
        )
        assert injected == [], f"markup from token text became elements: {injected}"
        # every token shown as Python holds it (invisible characters marked, long ones cut)
        shown = dict(
            root.locator('[data-testid="bosw-token"]').evaluate_all(
                "els => els.map(e => [Number(e.dataset.index), e.textContent])"
            )
        )
        assert set(shown) == set(range(len(HOSTILE)))
        for i, text in enumerate(HOSTILE):
            got, want = shown[i], MARKED.get(i, text)
            assert want == got or (got.endswith("…") and want.startswith(got[:-1])), (i, got[:60])
        strip = root.get_by_test_id("bosw-tokens").text_content() or ""
        assert "\u202e" not in strip and "\u200b" not in strip
        expect(root.get_by_test_id("bosw-header")).to_contain_text(MODEL)
        assert page.title().startswith(MODEL), page.title()
    finally:
        jp.shot(page, request.node.name)
