"""A notebook saved with its widget state draws the widget's current view again when reopened,
with a fresh kernel that never ran the cell (JupyterLab 4, "Save Widget State Automatically").

The view comes from the saved state alone: the ``snapshot`` trait holds the current slice as
base64, since slices otherwise arrive as custom messages, which are not saved. (With "No
Kernel" at all, jupyterlab-manager does not restore saved widget state: its restoreWidgets
loads from the kernel first and gives up when there is none.)
"""

from __future__ import annotations

import json
import re
import time
import urllib.request

import pytest
from playwright.sync_api import expect

from . import jupyter as jp

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

NOTEBOOK = "saved_state.ipynb"
STATE_MIME = "application/vnd.jupyter.widget-state+json"
CELLS = [
    "import numpy as np\nimport bos_widget\n"
    "T = 16\nrng = np.random.default_rng(0)\n"
    "A = np.tril(rng.random((3, 2, T, T)).astype(np.float32) ** 4)\nA[..., 0] += 0.5\n"
    "A = np.tril(A)\nA /= A.sum(-1, keepdims=True)\n"
    "saved = bos_widget.AttentionWidget.from_attentions(\n"
    "    A, [f'w{i}' for i in range(T)], model='saved-state toy', causal=True, layer=2)\n"
    "saved",
]


def _api(server, method: str, path: str):
    req = urllib.request.Request(f"{server.base}{path}?token={server.token}", method=method)
    with urllib.request.urlopen(req, timeout=30) as r:
        body = r.read()
    return json.loads(body) if body else None


def _saved_widget_state(path, timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            nb = json.loads(path.read_text())
        except json.JSONDecodeError:  # caught the file while the server was writing it
            time.sleep(0.5)
            continue
        state = nb.get("metadata", {}).get("widgets", {}).get(STATE_MIME, {}).get("state", {})
        ours = [m["state"] for m in state.values() if "snapshot" in m.get("state", {})]
        if ours and ours[0]["snapshot"]:
            return ours[0]
        time.sleep(0.5)
    raise AssertionError(f"no widget state with a snapshot was saved in {path}")


@pytest.mark.parametrize("server", ["lab"], indirect=True)  # Notebook 7: same widget manager
def test_reopened_notebook_draws_the_saved_view(server, browser, request):
    settings = server.root.parent / "lab-home" / "settings" / "@jupyter-widgets"
    (settings / "jupyterlab-manager").mkdir(parents=True, exist_ok=True)
    (settings / "jupyterlab-manager" / "plugin.jupyterlab-settings").write_text(
        '{"saveState": true}'
    )
    with jp.notebook_page(browser, server, NOTEBOOK, CELLS, widgets=1) as page:
        root = page.get_by_test_id("bosw-root")
        expect(root).to_have_attribute("data-painted", "2|-1|raw:arcs", timeout=60_000)
        live = jp.canvas_signature(root.get_by_test_id("bosw-canvas"))
        assert jp.execute(page, "saved.snapshot['reply']['layer']") == 2
        page.keyboard.press("Escape")
        page.keyboard.press("Control+s")
        state = _saved_widget_state(server.root / NOTEBOOK)
        assert state["snapshot"]["reply"]["layer"] == 2 and state["layer"] == 2
        assert len(state["snapshot"]["data"]) < 200_000
    # the kernel that made the widget goes away; the notebook opens again with a fresh one
    for s in _api(server, "GET", "/api/sessions") or []:
        if s.get("path", "").endswith(NOTEBOOK):
            _api(server, "DELETE", f"/api/sessions/{s['id']}")
    with jp.new_page(browser) as (page, _):
        try:
            jp.open_alone(page, server, NOTEBOOK)
            root = page.get_by_test_id("bosw-root")
            expect(root).to_have_count(1, timeout=jp.RENDER_TIMEOUT_MS)
            expect(root).to_have_attribute("data-painted", "2|-1|raw:arcs", timeout=60_000)
            expect(root.get_by_test_id("bosw-header")).to_contain_text("saved-state toy")
            again = jp.canvas_signature(root.get_by_test_id("bosw-canvas"))
            assert again["colours"] > 10, "the restored view is blank"
            size = (again["width"], again["height"])
            assert size == (live["width"], live["height"]), (size, live["width"], live["height"])
            label = root.get_by_test_id("bosw-canvas").get_attribute("aria-label") or ""
            assert "layer 2, mean of heads, raw" in label, label
            # proof that nothing came from a kernel: this kernel never ran the cell
            assert jp.execute(page, "'saved' in globals()") is False
            # another layer needs the kernel: the header says what was asked for and that it is
            # loading; the figure keeps saying what it draws
            root.get_by_test_id("bosw-layer").focus()
            page.keyboard.press("ArrowLeft")
            header = root.get_by_test_id("bosw-header")
            expect(header).to_contain_text("layer 1/2")
            expect(header).to_contain_text("loading slice")
            canvas = root.get_by_test_id("bosw-canvas")
            expect(canvas).to_have_attribute("aria-label", re.compile(r"layer 2, mean of heads"))
        finally:
            jp.shot(page, request.node.name)
