"""The exported HTML page in a real Chromium, opened from file:// with every non-file request
aborted: it renders, the layer slider changes what is drawn, the Save PNG button downloads
the figure, hostile token text stays text, and a layer left out of the export says so.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from playwright.sync_api import expect

from bos_widget import AttentionWidget

from . import jupyter as jp

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

HOSTILE = [
    "<img src=x onerror=alert(1)>",
    "</script><script>alert(2)</script>",
    "a&amp;b",
    "\u2028line",
    "<!--",
]


def _widget(L: int = 4, H: int = 3, T: int = 24) -> AttentionWidget:
    """Causal attention whose pattern differs per layer: layer l puts its extra mass on key l."""
    rng = np.random.default_rng(1)
    A = rng.random((L, H, T, T)).astype(np.float32) ** 6
    for layer in range(L):
        A[layer, :, :, 0] += 1.5 * (layer % 2)  # odd layers sink on token 0
        A[layer, :, :, layer] += 1.0
    A = np.tril(A)
    A /= A.sum(-1, keepdims=True)
    tokens = HOSTILE + [f"w{i}" for i in range(T - len(HOSTILE))]
    return AttentionWidget.from_attentions(
        A, tokens, model="toy <script>alert(3)</script>", causal=True, layer=1
    )


def open_export(page, path, **options):
    """Export the test widget to ``path``, open it from file:// and wait for the first paint."""
    page.goto(_widget().to_html(path, **options).as_uri())
    root = page.get_by_test_id("bosw-root")
    expect(root).to_have_attribute("data-painted", "1|-1|raw:arcs")
    return root


def test_export_renders_offline_and_follows_the_slider(offline_page, tmp_path, request):
    page, seen = offline_page
    root = open_export(page, tmp_path / "export.html")
    try:
        header = root.get_by_test_id("bosw-header")
        expect(header).to_contain_text("toy <script>alert(3)</script>")
        expect(header).to_contain_text("layer 1/3")
        assert page.title().startswith("toy <script>alert(3)</script> · T=24")
        canvas = root.get_by_test_id("bosw-canvas")
        before = jp.canvas_signature(canvas)
        assert before["colours"] > 10, "canvas looks blank"
        # the slider: keyboard on the real control, as a user would
        layer = root.get_by_test_id("bosw-layer")
        layer.focus()
        page.keyboard.press("ArrowRight")
        expect(root).to_have_attribute("data-painted", "2|-1|raw:arcs")
        expect(header).to_contain_text("layer 2/3")
        after = jp.canvas_signature(canvas)
        assert after["url"] != before["url"], "the layer slider did not change the drawing"
        # head and weighting controls are served from the page too
        head = root.get_by_test_id("bosw-head")
        head.focus()
        page.keyboard.press("ArrowRight")
        expect(root).to_have_attribute("data-painted", "2|0|raw:arcs")
        root.get_by_test_id("bosw-view").select_option("matrix")
        expect(root).to_have_attribute("data-painted", "2|0|raw:matrix")
        expect(root.get_by_test_id("bosw-error")).to_be_hidden()
        # hostile text: shown as text, nothing ran, no element made from it
        shown = root.locator('[data-testid="bosw-token"]').evaluate_all(
            "els => els.map(e => e.textContent)"
        )
        # (spaces marked as every token's are: tests/fixtures/tokens.json)
        assert shown[:3] == ["<img␣src=x␣onerror=alert(1)>", HOSTILE[1], HOSTILE[2]], shown[:3]
        injected = page.evaluate(
            "() => [...document.querySelectorAll('img, svg, iframe, script:not(#bosw-data)')]"
            ".filter(e => e.textContent.length < 1000).map(e => e.outerHTML.slice(0, 80))"
        )
        assert injected == [], injected
        assert seen.dialogs == [] and seen.errors == [], (seen.dialogs, seen.errors)
        assert seen.blocked == [], f"the page tried to fetch: {seen.blocked}"
    finally:
        jp.shot(page, request.node.name)


def test_save_button_downloads_the_figure(offline_page, tmp_path, request):
    page, seen = offline_page
    root = open_export(page, tmp_path / "export.html")
    try:
        with page.expect_download() as info:
            root.get_by_test_id("bosw-save").click()
        download = info.value
        assert re.fullmatch(r"bos_widget_toy-script-alert-3-script_L1_mean_raw_arcs\.png",
                            download.suggested_filename), download.suggested_filename  # fmt: skip
        saved = tmp_path / download.suggested_filename
        download.save_as(saved)
        data = saved.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
        canvas = jp.canvas_signature(root.get_by_test_id("bosw-canvas"))
        assert width == canvas["width"] and height > canvas["height"], (width, height, canvas)
        assert seen.blocked == []
    finally:
        jp.shot(page, request.node.name)


def test_layer_left_out_of_the_export_says_so(offline_page, tmp_path):
    page, _ = offline_page
    root = open_export(page, tmp_path / "partial.html", layers=[1], heads="mean")
    expect(root.get_by_test_id("bosw-error")).to_be_hidden()  # prefetches of absent slices
    root.get_by_test_id("bosw-layer").focus()
    page.keyboard.press("ArrowRight")
    banner = root.get_by_test_id("bosw-error")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("does not include layer 2")
    expect(banner).to_contain_text("This page holds layers [1] of 0-3 and the mean of heads")
