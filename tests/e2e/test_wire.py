"""What a switch costs on the wire, in a real JupyterLab: a view switch brings its slice and no
snapshot; once the view has settled, the kernel's ``snapshot`` trait follows it (so a notebook
saved then draws the view the user settled on)."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from . import jupyter as jp

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

CELLS = [
    "import numpy as np\nimport bos_widget\n"
    "T = 16\nrng = np.random.default_rng(0)\n"
    "A = np.tril(rng.random((3, 2, T, T)).astype(np.float32) ** 4)\nA[..., 0] += 0.5\n"
    "A = np.tril(A)\nA /= A.sum(-1, keepdims=True)\n"
    "w = bos_widget.AttentionWidget.from_attentions(\n"
    "    A, [f'w{i}' for i in range(T)], model='wire toy', causal=True, layer=2)\n"
    "w",
]


@pytest.mark.parametrize("server", ["lab"], indirect=True)
def test_the_snapshot_follows_the_view_once_it_settles(server, browser):
    with jp.notebook_page(browser, server, "wire.ipynb", CELLS, widgets=1) as page:
        root = page.get_by_test_id("bosw-root")
        expect(root).to_have_attribute("data-painted", "2|-1|raw:arcs", timeout=60_000)
        assert jp.execute(page, "w.snapshot['reply']['layer']") == 2
        root.get_by_test_id("bosw-layer").focus()
        page.keyboard.press("ArrowLeft")
        expect(root).to_have_attribute("data-painted", "1|-1|raw:arcs", timeout=30_000)
        deadline = time.monotonic() + 60
        layer = None
        while time.monotonic() < deadline:
            layer = jp.execute(page, "(w.layer, w.snapshot['reply']['layer'])")
            if layer == [1, 1]:
                break
            time.sleep(0.5)
        assert layer == [1, 1], f"the snapshot did not follow the settled view: {layer}"
