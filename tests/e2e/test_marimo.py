"""marimo: ``notebooks/marimo_demo.py`` wraps the widget in ``mo.ui.anywidget``; ``marimo run``
serves it as an app and Chromium checks that it draws, that its slices arrive (they travel as
binary custom messages, which marimo relays), and that a slider reaches the Python traits
(the cell that reads them runs again).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from bos_widget.models import cache_dir

from . import jupyter as jp

NOTEBOOK = jp.REPO / "notebooks" / "marimo_demo.py"


@pytest.fixture(scope="module")
def marimo_app(tmp_path_factory) -> Iterator[str]:
    marimo = jp.VENV_BIN / "marimo"
    if shutil.which(str(marimo)) is None:
        pytest.skip("marimo is not installed in this environment")
    root = tmp_path_factory.mktemp("marimo")
    shutil.copy(NOTEBOOK, root / NOTEBOOK.name)
    home = root / "home"
    home.mkdir()
    port = jp.free_port()
    env = dict(os.environ)
    env.update(
        HOME=str(home),  # marimo's own config and state land here, not in the user's home
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_STATE_HOME=str(home / ".local" / "state"),
        BOS_WIDGET_CACHE=str(cache_dir()),  # the converted demo model, found under the real HOME
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        PYTHONUNBUFFERED="1",
    )
    jp.ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log = open(jp.ARTIFACTS / "server-marimo.log", "wb")  # noqa: SIM115 - closed below
    cmd = [str(marimo), "run", NOTEBOOK.name, "--headless", "--host", "127.0.0.1"]
    cmd += ["--port", str(port), "--no-token", "--no-sandbox"]
    proc = subprocess.Popen(
        cmd, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"marimo exited with {proc.returncode}; see {log.name}")
            try:
                with urllib.request.urlopen(base + "/", timeout=5) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"marimo did not answer on {base}; see {log.name}")
            time.sleep(0.5)
        yield base
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        log.close()


@pytest.fixture(scope="module")
def app_page(marimo_app, browser) -> Iterator[Page]:
    with jp.new_page(browser, "marimo", height=1100) as (page, _):
        try:
            page.goto(marimo_app, wait_until="domcontentloaded", timeout=120_000)
            yield page
        finally:
            jp.shot(page, "marimo-final")


def test_widget_draws_in_marimo(app_page, request):
    page = app_page
    try:
        root = page.get_by_test_id("bosw-root")
        expect(root).to_have_count(1, timeout=jp.RENDER_TIMEOUT_MS)
        expect(root.get_by_test_id("bosw-header")).to_contain_text("SmolLM2", ignore_case=True)
        # painted with a slice: the bytes came back through marimo's custom-message relay
        expect(root).to_have_attribute("data-painted", re.compile(r"^0\|-1\|raw:arcs"))
        canvas = root.get_by_test_id("bosw-canvas")
        sig = jp.wait_canvas_settled(canvas, root)
        assert sig["inked"] > 1000 and sig["colours"] > 10, "canvas is blank"
        traits = page.get_by_test_id("marimo-traits")  # written by a cell from the traits
        expect(traits).to_have_text("layer 0, mean of heads, threshold 0.30")
    finally:
        jp.shot(page, request.node.name)


def test_slider_reaches_python_in_marimo(app_page, request):
    page = app_page
    try:
        root = page.get_by_test_id("bosw-root")
        expect(root).to_have_attribute("data-painted", re.compile(r"^0\|"), timeout=60_000)
        canvas = root.get_by_test_id("bosw-canvas")
        before = jp.wait_canvas_settled(canvas, root)
        layer = root.get_by_test_id("bosw-layer")
        layer.focus()
        for _ in range(3):
            page.keyboard.press("ArrowRight")
        expect(layer).to_have_value("3")
        # the view asked for layer 3's slice and drew it
        expect(root).to_have_attribute("data-painted", re.compile(r"^3\|-1\|raw"), timeout=60_000)
        after = jp.wait_canvas_settled(canvas, root)
        assert after["url"] != before["url"], "canvas did not change with the layer"
        # the Python trait followed: the cell that reads `attention.layer` ran again
        expect(page.get_by_test_id("marimo-traits")).to_have_text(
            "layer 3, mean of heads, threshold 0.30", timeout=60_000
        )
    finally:
        jp.shot(page, request.node.name)


def test_python_moves_the_view_in_marimo(app_page, request):
    page = app_page
    try:
        root = page.get_by_test_id("bosw-root")
        button = page.get_by_role("button", name=re.compile("Jump to the strongest sink head"))
        label = button.inner_text()
        m = re.search(r"layer (\d+), head (\d+)", label)
        assert m, label
        layer, head = m.groups()
        button.click()  # its on_click sets widget.layer and widget.head in the kernel
        expect(root.get_by_test_id("bosw-layer")).to_have_value(layer, timeout=60_000)
        expect(root.get_by_test_id("bosw-head")).to_have_value(head)
        expect(root).to_have_attribute(
            "data-painted", re.compile(rf"^{layer}\|{head}\|raw"), timeout=60_000
        )
    finally:
        jp.shot(page, request.node.name)
