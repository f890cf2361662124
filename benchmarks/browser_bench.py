"""Layer/head switch latency in JupyterLab with headless Chromium, SmolLM2 at T = 1024.

Other lengths: ``BOSW_BENCH_T=1024,2048 python -m benchmarks browser`` (one row block per T).

Goal (issue 3): switching layer or head repaints within 100 ms at T = 1024. A switch is timed
in the page from the slider's ``input`` event to the paint that shows the new slice
(``data-painted`` on the widget root), so it covers the request to the kernel, the binary
reply, decoding and drawing. First visits (slice not yet in the browser cache; neighbours are
prefetched) and revisits are reported apart.
"""

from __future__ import annotations

import os
import statistics
import tempfile
from collections.abc import Sequence
from pathlib import Path

import nbformat

from tests.e2e import jupyter as jp

from ._common import TEXT, save

GOAL_MS = 100.0

SWITCH_JS = """async ([root, testid, value]) => {
  const input = root.querySelector(`[data-testid="${testid}"]`);
  const field = testid === "bosw-layer" ? 0 : 1; // data-painted is "layer|head|weighting:view"
  const t0 = performance.now();
  input.value = String(value);
  input.dispatchEvent(new Event("input", { bubbles: true }));
  input.dispatchEvent(new Event("change", { bubbles: true }));
  const done = () => (root.dataset.painted || "").split("|")[field] === String(value);
  while (!done()) {
    await new Promise((r) => requestAnimationFrame(r));
    if (performance.now() - t0 > 20000) return -1;
  }
  return performance.now() - t0;
}"""


def _notebook(path: Path, T: int) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "import bos_widget\n"
            f"TEXT = {TEXT!r} * {T // 20 + 2}\n"
            f"w = bos_widget.show(TEXT, max_tokens={T}, view='matrix')\nw"
        )
    ]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    nbformat.write(nb, path)


def _stats(values: list[float]) -> dict:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"n": len(values), "p50_ms": statistics.median(values), "p95_ms": p95}


def measure(T: int = 1024, switches: int = 60) -> dict:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "root"
        root.mkdir()
        _notebook(root / "bench.ipynb", T)
        server = jp.JupyterServer("lab", root, jp.ARTIFACTS / "bench-server.log")
        server.start()
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(
                    executable_path=jp.CHROMIUM, headless=True, args=jp.CHROMIUM_ARGS
                )
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                jp.open_notebook(page, server, "bench.ipynb")
                jp.run_all_cells(page)
                widget = page.get_by_test_id("bosw-root").first
                widget.wait_for(timeout=jp.RENDER_TIMEOUT_MS)
                page.wait_for_function(
                    "el => (el.dataset.painted || '').length > 0",
                    arg=widget.element_handle(),
                    timeout=jp.RENDER_TIMEOUT_MS,
                )
                handle = widget.element_handle()
                first, again = [], []
                layers = [(7 * i + 3) % 30 for i in range(switches // 2)]
                for layer in layers:  # a spread of layers: mostly first visits
                    ms = page.evaluate(SWITCH_JS, [handle, "bosw-layer", layer])
                    (again if layer in layers[: layers.index(layer)] else first).append(ms)
                for layer in layers:  # the same layers again: cached in the browser
                    again.append(page.evaluate(SWITCH_JS, [handle, "bosw-layer", layer]))
                heads = [page.evaluate(SWITCH_JS, [handle, "bosw-head", h % 9]) for h in range(18)]
                browser.close()
        finally:
            server.stop()
    timed_out = sum(1 for v in first + again + heads if v < 0)
    return {
        "T": T,
        "first_visit": _stats([v for v in first if v >= 0]),
        "revisit": _stats([v for v in again if v >= 0]),
        "head_switch": _stats([v for v in heads if v >= 0]),
        "timed_out": timed_out,
    }


def lengths() -> list[int]:
    """The T values to measure: ``BOSW_BENCH_T`` (comma-separated), default 1024."""
    raw = os.environ.get("BOSW_BENCH_T", "1024")
    return [int(t) for t in raw.split(",") if t.strip()]


def main(ts: Sequence[int] | None = None) -> list[dict]:
    results = [measure(T) for T in (ts or lengths())]
    Ts = ", ".join(str(r["T"]) for r in results)
    lines = [
        f"## Switch latency in JupyterLab, headless Chromium (SmolLM2, T = {Ts}, matrix)",
        "",
        "| T | switch | n | p50 (ms) | p95 (ms) |",
        "|---|---|---|---|---|",
    ]
    for result in results:
        for key, label in (
            ("first_visit", "layer, first visit"),
            ("revisit", "layer, revisit"),
            ("head_switch", "head"),
        ):
            s = result[key]
            lines.append(
                f"| {result['T']} | {label} | {s['n']} | {s['p50_ms']:.1f} | {s['p95_ms']:.1f} |"
            )
    lines.append("")
    for result in results:
        worst = max(result[k]["p50_ms"] for k in ("first_visit", "revisit", "head_switch"))
        verdict = "met" if worst <= GOAL_MS else "MISSED"
        lines.append(
            f"Goal at T = {result['T']}: repaint within {GOAL_MS:.0f} ms (median): {verdict}."
        )
        if result["timed_out"]:
            lines.append(f"{result['timed_out']} switches did not repaint within 20 s.")
    save("browser", results, lines)
    return results
