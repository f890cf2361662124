"""bos_widget alone in the browser: layer and head switch latency and the bytes each switch
costs on the wire, at ``BOSW_BENCH_T`` (comma-separated; default 1024), without bertviz.

The quick loop for work on the wire (issue 14): ``BOSW_BENCH_T=512,1024 python -m benchmarks
switch``. Each T runs in a fresh kernel of one JupyterLab (``browser_bench``); the rows and the
machine's load average go to ``benchmarks/results/switch.{json,md}``.
"""

from __future__ import annotations

import os

from . import browser_bench
from ._common import save


def _sizes() -> list[int]:
    raw = os.environ.get("BOSW_BENCH_T", "1024")
    return [int(t) for t in raw.split(",")]


def _kb(n: float | None) -> str:
    return "-" if n is None else f"{n / 1000:,.0f} kB"


def main() -> dict:
    load = os.getloadavg()
    rows = browser_bench.run([("bos_widget", T) for T in _sizes()])
    after = os.getloadavg()
    lines = [
        "## bos_widget switches in JupyterLab + headless Chromium, SmolLM2 (30 layers x 9 heads)",
        "",
        f"Load average (1 min) {load[0]:.2f} before, {after[0]:.2f} after.",
        "",
        "| T | one slice | layer p50 / p95 ms | first visit p50 / p95 | head p50 / p95 ms "
        "| bytes per layer switch | per head switch |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if not r.get("painted"):
            lines.append(f"| {r['T']} | not painted: {r.get('error', '')} | | | | | |")
            continue

        def pp(key: str, r: dict = r) -> str:
            s = r[key]
            return f"{s['p50_ms']:.0f} / {s['p95_ms']:.0f}" if s["n"] else "-"

        lines.append(
            f"| {r['T']} | {_kb(r.get('slice_bytes'))} | {pp('layer')} | "
            f"{pp('layer_first_visit')} | {pp('head')} | {_kb(r['layer_bytes_per_switch'])} | "
            f"{_kb(r['head_bytes_per_switch'])} |"
        )
    lines += [
        "",
        "Switch latency runs from the control's event to the repaint; bytes are every websocket "
        "frame the page received from the first switch of a kind to a second after its last, "
        "over the number of switches (60 layer switches over a spread of the 30 layers, each "
        "visited twice; 54 head switches cycling the 9 heads).",
    ]
    data = {"load_before": load, "load_after": after, "rows": rows}
    save("switch", data, lines)
    return data
