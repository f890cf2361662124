"""Fixtures for the browser tests: real JupyterLab 4 / Notebook 7 servers and one Chromium.

Servers and the browser live for the whole session. The quickstart notebook is opened and run
once per server (``quickstart`` fixture, session-scoped per server flavour); interaction tests
share that page and put the widget into a known state from Python before they act. Pages come
from ``jupyter.new_page`` (one browser context each); a test's own notebook opens with
``jupyter.notebook_page``; exported files open in ``offline_page``.
"""

from __future__ import annotations

import pathlib
import shutil

import pytest
from playwright.sync_api import expect

from . import jupyter as jp

FLAVOURS = ["lab", "notebook"]


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def e2e_root(tmp_path_factory) -> pathlib.Path:
    return tmp_path_factory.mktemp("bosw-e2e")


@pytest.fixture(scope="session", params=FLAVOURS)
def server(request, e2e_root):
    flavour = request.param
    if shutil.which(str(jp.VENV_BIN / "jupyter")) is None:
        pytest.skip("jupyter is not installed in this environment")
    root = e2e_root / f"{flavour}-root"
    jp.copy_notebooks(root)
    srv = jp.JupyterServer(flavour, root, jp.ARTIFACTS / f"server-{flavour}.log")
    try:
        srv.start()
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not pathlib.Path(jp.CHROMIUM).exists():
        pytest.skip(f"no Chromium at {jp.CHROMIUM}")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=jp.CHROMIUM, headless=True, args=jp.CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def offline_page(browser):
    """``(page, seen)``: a page that may load only file:// URLs (``seen.blocked`` lists what
    it refused; ``seen.dialogs``/``seen.errors`` what else happened), downloads accepted."""
    with jp.new_page(browser, width=1200, offline=True, accept_downloads=True) as opened:
        yield opened


@pytest.fixture(scope="session")
def quickstart(server, browser):
    """A page on which quickstart.ipynb was opened and run to the end, both widgets drawn."""
    with jp.new_page(browser, f"quickstart-{server.flavour}") as (page, _):
        try:
            jp.open_notebook(page, server, "quickstart.ipynb")
            jp.run_all_cells(page)
            roots = page.get_by_test_id("bosw-root")
            expect(roots).to_have_count(2, timeout=jp.RENDER_TIMEOUT_MS)
            jp.wait_kernel_idle(page, timeout_ms=jp.RENDER_TIMEOUT_MS)
            yield page
        finally:
            jp.shot(page, f"quickstart-{server.flavour}-final")
