"""Hostile token and model text in a real browser (JupyterLab 4 and Notebook 7): it is shown as
text and never runs. No dialog opens, no injected element exists, and the token strip shows
each string exactly as Python holds it.
"""

from __future__ import annotations

import pytest

from . import jupyter as jp

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

NOTEBOOK = "hostile_text.ipynb"
HOSTILE = [
    "<img src=x onerror=alert(1)>",
    "</script><script>alert(2)</script>",
    "\"'`\\",
    "{{ 7*7 }}",
    "\u202eevil\u202c",  # right-to-left override
    "zero\u200bwidth",
    "🐍🔥",
    "tab\there",
    "x" * 10_000,
    "<svg onload=alert(3)>",
]
# what the strip shows where it differs from the raw text: invisible characters, spaces and
# tabs (the readable-token rule of tests/fixtures/tokens.json)
MARKED = {
    0: "<img␣src=x␣onerror=alert(1)>",
    3: "{{␣7*7␣}}",
    4: "⟨U+202E⟩evil⟨U+202C⟩",
    5: "zero⟨U+200B⟩width",
    7: "tab⇥here",
    9: "<svg␣onload=alert(3)>",
}
CELLS = [
    "import numpy as np\nimport bos_widget\n"
    f"TOKENS = {HOSTILE!r}\n"
    "T = len(TOKENS)\n"
    "A = np.tril(np.ones((T, T), np.float32))\nA /= A.sum(-1, keepdims=True)\n"
    "hostile = bos_widget.AttentionWidget.from_attentions(\n"
    "    np.broadcast_to(A, (2, 2, T, T)), TOKENS,\n"
    "    model='<img src=x onerror=alert(4)> model \"</script>', causal=True)\n"
    "hostile",
]


@pytest.fixture(scope="module")
def hostile_page(server, browser):
    with jp.notebook_page(browser, server, NOTEBOOK, CELLS, widgets=1) as page:
        dialogs: list[str] = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.dialogs = dialogs  # type: ignore[attr-defined]
        yield page


def test_hostile_text_is_shown_and_never_runs(hostile_page, request):
    page = hostile_page
    root = page.get_by_test_id("bosw-root")
    try:
        # the arc view draws every query; hovering tokens repaints with their text
        for i in range(len(HOSTILE)):
            root.locator(f'[data-testid="bosw-token"][data-index="{i}"]').hover()
        assert page.dialogs == [], f"a dialog opened: {page.dialogs}"  # type: ignore[attr-defined]
        injected = page.evaluate(
            """() => [...document.querySelectorAll('.bosw img, .bosw svg, .bosw script')]
                    .map(e => e.outerHTML.slice(0, 80))"""
        )
        assert injected == [], f"markup from token text became elements: {injected}"
        shown = root.locator('[data-testid="bosw-token"]').evaluate_all(
            "els => els.map(e => [Number(e.dataset.index), e.textContent])"
        )
        by_index = dict(shown)
        assert set(by_index) == set(range(len(HOSTILE)))
        for i, text in enumerate(HOSTILE):
            got = by_index[i]
            want = MARKED.get(i, text)
            assert want == got or (got.endswith("…") and want.startswith(got[:-1])), (i, got[:60])
        strip = root.get_by_test_id("bosw-tokens").text_content() or ""
        assert "\u202e" not in strip and "\u200b" not in strip
        header = root.get_by_test_id("bosw-header").text_content() or ""
        assert "<img src=x onerror=alert(4)>" in header
    finally:
        jp.shot(page, request.node.name, root)
