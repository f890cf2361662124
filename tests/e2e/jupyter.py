"""Helpers for the browser tests: start a Jupyter server, drive a notebook, read the widget.

Kept free of pytest so the functions can be reused from a REPL while debugging.
"""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO

from playwright.sync_api import Locator, Page, expect
from playwright.sync_api import TimeoutError as PWTimeout

REPO = pathlib.Path(__file__).resolve().parents[2]
ARTIFACTS = pathlib.Path(__file__).resolve().parent / "artifacts"
VENV_BIN = pathlib.Path(sys.executable).parent

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]

RENDER_TIMEOUT_MS = 180_000  # first render loads a 135M-parameter model on 2 noisy cores
EXEC_TIMEOUT_MS = 120_000
UI_TIMEOUT_MS = 30_000


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class JupyterServer:
    """A ``jupyter lab`` or ``jupyter notebook`` subprocess on 127.0.0.1 with its own root dir."""

    flavour: str  # "lab" or "notebook"
    root: pathlib.Path
    log_path: pathlib.Path
    port: int = field(default_factory=free_port)
    token: str = field(default_factory=lambda: secrets.token_hex(16))
    proc: subprocess.Popen | None = None
    _log: IO[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def notebook_url(self, name: str) -> str:
        path = "lab/tree" if self.flavour == "lab" else "notebooks"
        return f"{self.base}/{path}/{name}?token={self.token}"

    def start(self, timeout: float = 120.0) -> None:
        home = self.root.parent / f"{self.flavour}-home"
        for sub in ("config", "runtime", "workspaces", "settings"):
            (home / sub).mkdir(parents=True, exist_ok=True)
        # no "get notified about Jupyter news?" toast over the widgets
        news = home / "settings" / "@jupyterlab" / "apputils-extension"
        news.mkdir(parents=True, exist_ok=True)
        (news / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
        env = dict(os.environ)
        env.update(
            JUPYTER_CONFIG_DIR=str(home / "config"),
            JUPYTER_RUNTIME_DIR=str(home / "runtime"),
            JUPYTER_PLATFORM_DIRS="1",
            PYTHONUNBUFFERED="1",
            HF_HUB_OFFLINE="1",
            TRANSFORMERS_OFFLINE="1",
        )
        # `jupyter notebook` is a JupyterLab-based app: both take the LabServerApp options.
        app = "LabApp" if self.flavour == "lab" else "JupyterNotebookApp"
        cmd = [
            str(VENV_BIN / "jupyter"),
            self.flavour,
            "--no-browser",
            "--ip=127.0.0.1",
            f"--port={self.port}",
            "--port-retries=0",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root}",
            "--ServerApp.open_browser=False",
            f"--{app}.workspaces_dir={home / 'workspaces'}",
            f"--{app}.user_settings_dir={home / 'settings'}",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--allow-root")  # containers often run as root
        if self.flavour == "lab":
            cmd += [
                "--LabApp.extension_manager=readonly",
                "--LabApp.news_url=None",
                "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            ]
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self._log = log
        self.proc = subprocess.Popen(
            cmd,
            cwd=self.root,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                code = self.proc.returncode
                raise RuntimeError(
                    f"jupyter {self.flavour} exited with {code}; see {self.log_path}"
                )
            try:
                with urllib.request.urlopen(
                    f"{self.base}/api/status?token={self.token}", timeout=5
                ) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(
            f"jupyter {self.flavour} did not answer /api/status; see {self.log_path}"
        )

    def stop(self, timeout: float = 20.0) -> None:
        try:
            self._terminate(timeout)
        finally:
            if self._log is not None:
                self._log.close()
                self._log = None

    def _terminate(self, timeout: float) -> None:
        p = self.proc
        if p is None or p.poll() is not None:
            return
        # The server runs in its own session (process group); kernels are its children.
        try:
            os.killpg(p.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGKILL)
            p.wait(timeout=10)


def copy_notebooks(root: pathlib.Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "notebooks" / "quickstart.ipynb", root / "quickstart.ipynb")


# ---- driving the notebook UI ---------------------------------------------------------------


def accept_kernel_dialog(page: Page, wait_ms: int = 3_000) -> None:
    """Accept a "Select Kernel" dialog if one shows up (JupyterLab / Notebook 7)."""
    dialog = page.locator(".jp-Dialog")
    try:
        dialog.wait_for(state="visible", timeout=wait_ms)
    except PWTimeout:
        return
    button = dialog.get_by_role("button", name="Select", exact=True)
    if button.count():
        button.click()
        expect(dialog).to_have_count(0, timeout=UI_TIMEOUT_MS)


def open_notebook(page: Page, server: JupyterServer, name: str) -> None:
    page.goto(server.notebook_url(name), wait_until="domcontentloaded", timeout=120_000)
    page.locator(".jp-Notebook .jp-Cell").first.wait_for(state="visible", timeout=120_000)
    accept_kernel_dialog(page)
    wait_kernel_idle(page)


def wait_kernel_idle(page: Page, timeout_ms: int = EXEC_TIMEOUT_MS) -> None:
    """Wait until no cell shows the busy prompt ``[*]`` and the kernel reports idle."""
    page.wait_for_function(
        """() => {
            const prompts = [...document.querySelectorAll('.jp-InputPrompt')];
            if (prompts.some(p => p.textContent.includes('*'))) return false;
            const lab = document.querySelector('.jp-StatusBar-TextItem[title*="Kernel"], '
                + '.jp-KernelStatus');
            const nb = document.querySelector('.jp-NotebookKernelStatus');
            const any = lab || nb;
            if (!any) return true;
            const t = (any.getAttribute('title') || '') + ' ' + any.textContent
                + ' ' + (any.getAttribute('data-status') || '');
            return !/busy|starting|restarting|connecting|initializing|unknown/i.test(t);
        }""",
        timeout=timeout_ms,
        polling=500,
    )


def run_all_cells(page: Page) -> None:
    """Run → Run All Cells through the menu bar (same in JupyterLab 4 and Notebook 7)."""
    page.locator(".jp-Notebook").first.click(position={"x": 5, "y": 5})
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()


def execute(page: Page, code: str, timeout_ms: int = EXEC_TIMEOUT_MS) -> object:
    """Append a code cell at the end of the notebook through the UI, run it, and return the
    JSON value it prints. ``code`` is a single expression whose value is JSON-serialisable;
    statements may come first, separated by ``;``. Raises AssertionError with the output on
    a Python error."""
    nonce = secrets.token_hex(6)
    stmts, _, expr = code.rpartition(";")
    prefix = f"import json as _j; {stmts.strip()}; " if stmts.strip() else "import json as _j; "
    line = f"{prefix}print('E2E' + '-{nonce}', _j.dumps({expr.strip()}))"
    cells = page.locator(".jp-Notebook .jp-Cell")
    last = cells.last
    last.scroll_into_view_if_needed()
    empty = (
        "jp-CodeCell" in (last.get_attribute("class") or "")
        and not last.locator(".cm-content").inner_text().strip()
        and last.locator(".jp-OutputArea-output").count() == 0
    )
    if not empty:
        # command mode on the last cell, then "b" inserts a code cell below it
        n = cells.count()
        last.locator(".jp-InputPrompt, .jp-InputArea-prompt").first.click()
        page.keyboard.press("Escape")
        page.keyboard.press("b")
        expect(cells).to_have_count(n + 1, timeout=UI_TIMEOUT_MS)
    # pin the cell by its index: Shift+Enter on the last cell appends another one
    new = cells.nth(cells.count() - 1)
    editor = new.locator(".cm-content")
    expect(editor).to_be_visible(timeout=UI_TIMEOUT_MS)
    editor.click()
    page.keyboard.insert_text(line)
    expect(editor).to_contain_text(nonce, timeout=UI_TIMEOUT_MS)
    page.keyboard.press("Shift+Enter")
    out = new.locator(".jp-OutputArea-output")
    marker = f"E2E-{nonce} "
    deadline = time.monotonic() + timeout_ms / 1000
    while time.monotonic() < deadline:
        text = "\n".join(out.all_inner_texts())
        if marker in text:
            payload = text.split(marker, 1)[1].strip().splitlines()[0]
            return json.loads(payload)
        if "Traceback" in text or "Error" in text:
            raise AssertionError(f"cell failed:\n{line}\n---\n{text}")
        time.sleep(0.25)
    raise AssertionError(f"no output from cell within {timeout_ms} ms:\n{line}")


# ---- reading the widget --------------------------------------------------------------------


def canvas_signature(canvas: Locator) -> dict:
    """Distinct colours, non-background pixel count and a hash of the canvas pixels."""
    return canvas.evaluate(
        """(c) => {
            const ctx = c.getContext('2d');
            const { data } = ctx.getImageData(0, 0, c.width, c.height);
            const colours = new Set();
            let h = 2166136261 >>> 0;
            let inked = 0;
            const r0 = data[0], g0 = data[1], b0 = data[2], a0 = data[3];
            for (let i = 0; i < data.length; i += 4) {
                const r = data[i], g = data[i + 1], b = data[i + 2], a = data[i + 3];
                const key = (r << 24) ^ (g << 16) ^ (b << 8) ^ a;
                if (colours.size < 4096) colours.add(key);
                if (r !== r0 || g !== g0 || b !== b0 || a !== a0) inked++;
                h = Math.imul(h ^ key, 16777619) >>> 0;
            }
            return { width: c.width, height: c.height, colours: colours.size, inked, hash: h,
                     url: c.toDataURL() };
        }"""
    )


def wait_canvas_change(canvas: Locator, before: dict, timeout_ms: int = 60_000) -> dict:
    deadline = time.monotonic() + timeout_ms / 1000
    sig = canvas_signature(canvas)
    while sig["url"] == before["url"] and time.monotonic() < deadline:
        time.sleep(0.25)
        sig = canvas_signature(canvas)
    return sig


def wait_canvas_settled(canvas: Locator, root: Locator, timeout_ms: int = 60_000) -> dict:
    """Wait until the header no longer says "loading slice…" and two reads agree."""
    expect(root.locator(".bosw-loading")).to_have_count(0, timeout=timeout_ms)
    prev = canvas_signature(canvas)
    deadline = time.monotonic() + timeout_ms / 1000
    while time.monotonic() < deadline:
        time.sleep(0.3)
        cur = canvas_signature(canvas)
        if cur["url"] == prev["url"]:
            return cur
        prev = cur
    return prev


def shot(page: Page, name: str, target: Locator | None = None) -> pathlib.Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
    path = ARTIFACTS / f"{safe}.png"
    try:
        if target is not None and target.count():
            target.scroll_into_view_if_needed(timeout=5_000)
        page.screenshot(path=str(path), full_page=False, timeout=30_000)
    except Exception as exc:  # noqa: BLE001 - a screenshot must never hide the real failure
        print(f"screenshot {path} failed: {exc}")
    return path


# ---- a notebook of the test's own, run in a page of its own ---------------------------------


def write_notebook(root: pathlib.Path, name: str, cells: list[str]) -> None:
    """Write a notebook of code cells (no outputs) into the server's root dir."""
    cell = {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": []}
    nb = {
        "cells": [{**cell, "source": src} for src in cells],
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    (root / name).write_text(json.dumps(nb))


def open_alone(page: Page, server: JupyterServer, name: str) -> None:
    """Open a notebook as the only document. JupyterLab restores every notebook open in a
    workspace into hidden tabs, which page-wide locators would then hit: use a fresh one."""
    if server.flavour != "lab":
        open_notebook(page, server, name)
        return
    workspace = pathlib.Path(name).stem.replace("_", "-")
    url = f"{server.base}/lab/workspaces/{workspace}/tree/{name}?token={server.token}"
    page.goto(url, wait_until="domcontentloaded", timeout=120_000)
    page.locator(".jp-Notebook .jp-Cell").first.wait_for(state="visible", timeout=120_000)
    accept_kernel_dialog(page)
    wait_kernel_idle(page)
    expect(page.locator(".jp-Notebook")).to_have_count(1)


@dataclass
class Seen:
    """What a page did besides drawing: refused fetches, dialogs, uncaught errors."""

    blocked: list[str] = field(default_factory=list)  # URLs refused by an offline page
    dialogs: list[str] = field(default_factory=list)  # alert/confirm/prompt texts (dismissed)
    errors: list[str] = field(default_factory=list)  # uncaught page errors
    console_errors: list[str] = field(default_factory=list)  # console.error texts


@contextlib.contextmanager
def new_page(
    browser,
    log_name: str | None = None,
    *,
    width: int = 1400,
    height: int = 1000,
    offline: bool = False,
    accept_downloads: bool = True,
):
    """A page in a fresh browser context with the UI timeout, as ``(page, seen)``.

    Dialogs are dismissed and recorded, errors recorded in ``seen``; with ``log_name`` the
    console also goes to ``artifacts/console-<log_name>.log``. ``offline`` pages load only
    ``file://`` URLs and list every other request in ``seen.blocked``. The context closes
    when the block ends."""
    context = browser.new_context(
        viewport={"width": width, "height": height}, accept_downloads=accept_downloads
    )
    context.set_default_timeout(UI_TIMEOUT_MS)
    page = context.new_page()
    seen = Seen()
    page.on("dialog", lambda d: (seen.dialogs.append(d.message), d.dismiss()))
    page.on("pageerror", lambda e: seen.errors.append(str(e)))
    page.on("console", lambda m: m.type == "error" and seen.console_errors.append(m.text))
    if offline:

        def route(r) -> None:
            if r.request.url.startswith("file:"):
                r.continue_()
            else:
                seen.blocked.append(r.request.url)
                r.abort()

        page.route("**/*", route)
    log: IO[str] | None = None
    if log_name is not None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        log = open(ARTIFACTS / f"console-{log_name}.log", "w")  # noqa: SIM115 - closed below
        page.on("console", lambda m: log.write(f"[{m.type}] {m.text}\n"))
        page.on("pageerror", lambda e: log.write(f"[pageerror] {e}\n"))
    try:
        yield page, seen
    finally:
        context.close()
        if log is not None:
            log.close()


@contextlib.contextmanager
def notebook_page(
    browser,
    server: JupyterServer,
    name: str,
    cells: list[str],
    widgets: int,
    on_page: Callable[[Page], None] | None = None,
    render_timeout_ms: int = RENDER_TIMEOUT_MS,
):
    """Write ``cells`` as notebook ``name``, open it alone, run it, wait for ``widgets`` widget
    roots, and yield the page; the console goes to ``artifacts/console-<name>-<flavour>.log``
    and a final screenshot is taken. ``on_page`` is called with the page before it loads
    (to add listeners)."""
    write_notebook(server.root, name, cells)
    stem = f"{pathlib.Path(name).stem}-{server.flavour}"
    with new_page(browser, stem) as (page, _):
        if on_page is not None:
            on_page(page)
        try:
            open_alone(page, server, name)
            run_all_cells(page)
            roots = page.get_by_test_id("bosw-root")
            expect(roots).to_have_count(widgets, timeout=render_timeout_ms)
            wait_kernel_idle(page, timeout_ms=render_timeout_ms)
            yield page
        finally:
            shot(page, f"{stem}-final")
