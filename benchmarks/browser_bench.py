"""bos_widget and bertviz in the same JupyterLab, the same headless Chromium, on SmolLM2.

For each tool and T, a notebook of three cells runs in a fresh kernel:

1. load the model and make a text of exactly T tokens (not timed), reset the kernel's peak RSS;
2. the timed cell: the tool's own way from model and text to a view (bos_widget:
   ``AttentionWidget.from_model``; bertviz: a forward with ``output_attentions=True`` and
   ``head_view``), so both include the model forward;
3. read the kernel's peak RSS (``VmHWM``) and its RSS before cell 2.

Measured in the page: time from Shift+Enter on cell 2 to the cell finishing (its prompt shows
a number) and to the first paint (bos_widget: the root's ``data-painted`` is set by the paint
of a slice; bertviz: its SVG holds the tokens); then layer and head switch latency, from the
control's event to the repaint, over at least 50 switches each; and the bytes the page's
websocket receives per switch (Chrome's ``Network.webSocketFrameReceived`` events, counted
from the first switch of a kind to a second after its last, over the number of switches), next
to the size of one slice as the kernel encodes it.

bertviz loads require.js, d3 and jQuery from cdnjs; no machine here reaches it. The browser
answers those URLs from ``benchmarks/vendor`` (npm packages at the versions bertviz asks for;
jQuery 2.0.0 is not on npm, 2.1.0 stands in), installed by ``make bench``.
"""

from __future__ import annotations

import base64
import contextlib
import json
import statistics
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.e2e import jupyter as jp

from ._common import TEXT

# (page, tool, wire=WireCounter | None) -> the switch measurements of one view
Switches = Callable[..., dict]

VENDOR = Path(__file__).parent / "vendor" / "node_modules"
CDN = {
    "require.js/2.3.6/require.min.js": VENDOR / "requirejs" / "require.js",
    "d3/5.7.0/d3.min.js": VENDOR / "d3" / "dist" / "d3.min.js",
    "jquery/2.0.0/jquery.min.js": VENDOR / "jquery" / "dist" / "jquery.min.js",
}
PAINT_LIMIT_S = 240.0  # a view that has not painted by then is recorded as not painted
LAYER_SWITCHES = 60
HEAD_SWITCHES = 54

SETUP = """import json, time
from pathlib import Path
import torch
from bos_widget.models import load_cached
model, tok = load_cached("smollm2")
ids = tok({TEXT} * ({T} // 20 + 2))["input_ids"][:{T}]  # benchmarks._common.token_ids
text = tok.decode(ids)
tokens = tok.convert_ids_to_tokens(ids)
with torch.inference_mode():  # touch every weight once, so that neither tool pays for it
    model(input_ids=torch.tensor([ids[:16]]))
Path("/proc/self/clear_refs").write_text("5")  # peak RSS (VmHWM) starts again from here
def _kb(field):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
rss_before = _kb("VmRSS")"""

VIEW = {
    "bos_widget": """import bos_widget
t0 = time.perf_counter()
w = bos_widget.AttentionWidget.from_model(model, tok, text, max_tokens={T}, progress=False,
                                          model_name="smollm2")
python_s = time.perf_counter() - t0
w""",
    "bertviz": """from bertviz import head_view
t0 = time.perf_counter()
model.set_attn_implementation("eager")
with torch.inference_mode():
    attentions = model(input_ids=torch.tensor([ids]), output_attentions=True).attentions
head_view(attentions, tokens)
python_s = time.perf_counter() - t0""",
}

# installed before Shift+Enter: stamps the key press, the cell's finish and the first paint
WATCH_JS = """([tool, T]) => {
  const cell = document.querySelectorAll('.jp-Notebook .jp-Cell')[1];
  const prompt = cell.querySelector('.jp-InputPrompt');
  const b = (window.__bench = { run: null, done: null, paint: null });
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && e.shiftKey && b.run === null) b.run = performance.now();
  }, true);
  new MutationObserver(() => {
    const finished = /\\[\\d+\\]/.test(prompt.textContent);
    if (b.run !== null && b.done === null && finished) b.done = performance.now();
  }).observe(prompt, { childList: true, subtree: true, characterData: true });
  const painted = tool === 'bos_widget'
    ? () => !!cell.querySelector('[data-testid="bosw-root"][data-painted]')
    : () => {
        const svg = cell.querySelector('[id^="bertviz-"] #vis svg');
        return !!svg && svg.querySelectorAll('text').length >= T;
      };
  const poll = () => {
    if (b.run !== null && painted()) { b.paint = performance.now(); return; }
    requestAnimationFrame(poll);
  };
  requestAnimationFrame(poll);
}"""

# one switch: set the control, fire its event, wait for the repaint; returns ms (-1: timeout)
BOS_SWITCH_JS = """async ([which, value]) => {
  const root = document.querySelector('[data-testid="bosw-root"]');
  const input = root.querySelector(`[data-testid="bosw-${which}"]`);
  const field = which === 'layer' ? 0 : 1; // data-painted is "layer|head|weighting:view"
  const t0 = performance.now();
  input.value = String(value);
  input.dispatchEvent(new Event('input', { bubbles: true }));
  input.dispatchEvent(new Event('change', { bubbles: true }));
  while ((root.dataset.painted || '').split('|')[field] !== String(value)) {
    await new Promise((r) => requestAnimationFrame(r));
    if (performance.now() - t0 > 20000) return -1;
  }
  return performance.now() - t0;
}"""

PAINT_MS_JS = "() => document.querySelector('[data-testid=\"bosw-root\"]').dataset.paintMs || -1"

# bertviz redraws synchronously inside its handlers; the next frame shows the result
BERTVIZ_SWITCH_JS = """async ([which, value]) => {
  const root = document.querySelector('[id^="bertviz-"]');
  const t0 = performance.now();
  if (which === 'layer') {
    const sel = root.querySelector('#layer');
    sel.value = String(value);
    sel.dispatchEvent(new Event('change', { bubbles: true }));
  } else {
    // the head checkboxes are the last group bertviz appends to its SVG
    const box = root.querySelector('#vis svg').lastElementChild.querySelectorAll('rect')[value];
    box.dispatchEvent(new MouseEvent('dblclick', { bubbles: true }));
  }
  await new Promise((r) => requestAnimationFrame(r));
  return performance.now() - t0;
}"""


def _stats(values: list[float]) -> dict:
    ok = sorted(v for v in values if v >= 0)
    if not ok:
        return {"n": 0, "p50_ms": None, "p95_ms": None, "timed_out": len(values)}
    p95 = ok[min(len(ok) - 1, round(0.95 * (len(ok) - 1)))]
    return {
        "n": len(ok),
        "p50_ms": statistics.median(ok),
        "p95_ms": p95,
        "timed_out": len(values) - len(ok),
    }


def _serve_cdn(page) -> None:
    def handle(route) -> None:
        url = route.request.url
        for tail, path in CDN.items():
            if url.endswith(tail) and path.exists():
                route.fulfill(path=str(path), content_type="application/javascript")
                return
        route.abort()

    page.route("https://cdnjs.cloudflare.com/**", handle)


class WireCounter:
    """Bytes of every websocket frame the page receives (Chrome DevTools protocol events)."""

    def __init__(self, context, page) -> None:
        self.bytes = 0
        self.frames = 0
        self._cdp = context.new_cdp_session(page)
        self._cdp.on("Network.webSocketFrameReceived", self._frame)
        self._cdp.send("Network.enable")

    def _frame(self, event: dict) -> None:
        response = event.get("response", {})
        payload = response.get("payloadData", "")
        if response.get("opcode") == 2:  # binary frames come base64-encoded
            self.bytes += len(base64.b64decode(payload))
        else:
            self.bytes += len(payload.encode("utf-8"))
        self.frames += 1


def _per_switch(page, wire: WireCounter | None, start: int, n: int) -> float | None:
    """Bytes per switch since ``start``, after a second for trailing replies (prefetches)."""
    if wire is None:
        return None
    page.wait_for_timeout(1000)
    return (wire.bytes - start) / n


def _switches(
    page, tool: str, n_layers: int = 30, n_heads: int = 9, wire: WireCounter | None = None
) -> dict:
    js = BOS_SWITCH_JS if tool == "bos_widget" else BERTVIZ_SWITCH_JS
    order = [(7 * i + 3) % n_layers for i in range(n_layers)]  # a spread: each layer once
    layers = (order * 2)[:LAYER_SWITCHES]
    first, again = [], []
    start = wire.bytes if wire else 0
    paint: list[float] = []  # bos_widget: the canvas work of each switch's last paint
    times: list[float] = []  # in the order switched
    for i, layer in enumerate(layers):
        times.append(page.evaluate(js, ["layer", layer]))
        (again if layer in layers[:i] else first).append(times[-1])
        if tool == "bos_widget":
            paint.append(float(page.evaluate(PAINT_MS_JS)))
    layer_bytes = _per_switch(page, wire, start, len(layers))
    start = wire.bytes if wire else 0
    heads = [page.evaluate(js, ["head", h % n_heads]) for h in range(HEAD_SWITCHES)]
    head_bytes = _per_switch(page, wire, start, HEAD_SWITCHES)
    return {
        "layer": _stats(first + again),
        "layer_first_visit": _stats(first),
        "layer_revisit": _stats(again),
        "head": _stats(heads),
        "layer_times_ms": times,
        "layer_paint_ms": paint,
        "head_times_ms": heads,
        "layer_bytes_per_switch": layer_bytes,
        "head_bytes_per_switch": head_bytes,
    }


def measure_one(
    browser, server, tool: str, T: int, switches: Switches | None = None, init_js: str = ""
) -> dict:
    """Open ``tool``'s view of T tokens of SmolLM2 in a fresh kernel and measure it; the
    switches are ``_switches`` unless given, ``init_js`` runs in the page before JupyterLab."""
    name = f"bench_{tool}_{T}.ipynb"
    setup = SETUP.replace("{TEXT}", repr(TEXT)).replace("{T}", str(T))
    cells = [setup, VIEW[tool].replace("{T}", str(T))]
    jp.write_notebook(server.root, name, cells)
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(jp.UI_TIMEOUT_MS)
    if init_js:
        context.add_init_script(init_js)
    page = context.new_page()
    wire = WireCounter(context, page) if tool == "bos_widget" else None
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    _serve_cdn(page)
    result: dict = {"tool": tool, "T": T}
    try:
        jp.open_alone(page, server, name)
        first = page.locator(".jp-Notebook .jp-Cell").nth(0)
        first.locator(".cm-content").click()
        page.keyboard.press("Shift+Enter")
        jp.wait_kernel_idle(page, timeout_ms=jp.RENDER_TIMEOUT_MS)
        page.evaluate(WATCH_JS, [tool, T])
        second = page.locator(".jp-Notebook .jp-Cell").nth(1)
        second.locator(".cm-content").click()
        page.keyboard.press("Shift+Enter")
        deadline = time.monotonic() + PAINT_LIMIT_S
        bench = page.evaluate("() => window.__bench")
        while time.monotonic() < deadline and (bench["paint"] is None or bench["done"] is None):
            time.sleep(0.1)
            bench = page.evaluate("() => window.__bench")
        if bench["paint"] is None or bench["done"] is None:
            result.update(painted=False, limit_s=PAINT_LIMIT_S)
            return result
        result.update(
            painted=True,
            cell_s=(bench["done"] - bench["run"]) / 1000,
            paint_s=(bench["paint"] - bench["run"]) / 1000,
            paint_after_cell_s=(bench["paint"] - bench["done"]) / 1000,
        )
        jp.wait_kernel_idle(page, timeout_ms=jp.RENDER_TIMEOUT_MS)
        result.update((switches or _switches)(page, tool, wire=wire))
        mem = jp.execute(
            page, "{'python_s': python_s, 'hwm_kb': _kb('VmHWM'), 'before_kb': rss_before}"
        )
        if tool == "bos_widget":  # one slice as it travels (the layer the view opened on)
            result["slice_bytes"] = jp.execute(page, "len(w._server.encoded(w.layer, 0))")
        assert isinstance(mem, dict)
        result.update(
            python_s=mem["python_s"],
            kernel_peak_rss_mb=mem["hwm_kb"] / 1024,
            kernel_growth_mb=(mem["hwm_kb"] - mem["before_kb"]) / 1024,
        )
    finally:
        result["page_errors"] = errors[:5]
        jp.shot(page, f"bench-{tool}-{T}")
        with contextlib.suppress(Exception):
            page.evaluate("() => window.stop()")
        context.close()
        _shutdown_kernels(server)
    return result


def _shutdown_kernels(server) -> None:
    """Stop every kernel of the server, so each measurement starts from a fresh one."""
    url = f"{server.base}/api/kernels?token={server.token}"
    with urllib.request.urlopen(url, timeout=10) as r:
        kernels = json.load(r)
    for k in kernels:
        req = urllib.request.Request(
            f"{server.base}/api/kernels/{k['id']}?token={server.token}", method="DELETE"
        )
        with contextlib.suppress(Exception):
            urllib.request.urlopen(req, timeout=30)


def run(plan: list[tuple[str, int]], **how: Any) -> list[dict]:
    """Measure every (tool, T) of ``plan`` in one JupyterLab and one Chromium (``how``: the
    keyword arguments of :func:`measure_one`)."""
    from playwright.sync_api import sync_playwright

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "root"
        root.mkdir()
        server = jp.JupyterServer("lab", root, jp.ARTIFACTS / "bench-server.log")
        server.start()
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(
                    executable_path=jp.CHROMIUM, headless=True, args=jp.CHROMIUM_ARGS
                )
                for tool, T in plan:
                    print(f"browser: {tool} T={T} ...", flush=True)
                    try:
                        row = measure_one(browser, server, tool, T, **how)
                    except Exception as exc:  # noqa: BLE001 - record it and go on to the next size
                        row = {"tool": tool, "T": T, "painted": False, "error": str(exc)[:300]}
                    print(f"  {row}", flush=True)
                    rows.append(row)
                browser.close()
        finally:
            server.stop()
    return rows
