"""Where a cold switch's time goes in JupyterLab: the page's own clock on every websocket frame.

``python -m benchmarks roundtrip`` opens bos_widget on SmolLM2 at ``BOSW_BENCH_T`` (default
64,1024; a fresh kernel each) and moves the layer slider to layers never shown, waiting
``GAP_MS`` after each paint. For each switch the page records when its request left, when the
first frame came back (the kernel's "busy" status), when the largest frame came back (the
slice) and when the canvas showed the new layer. At T = 64 the kernel's handler takes well
under a millisecond and a slice is 6 kB, so what remains is Jupyter's message path and the
page: the floor under any switch that needs the kernel. Results go to
``benchmarks/results/roundtrip.{json,md}``.
"""

from __future__ import annotations

import os
import statistics

from . import browser_bench
from ._common import save

SLICE_MIN_BYTES = 2000  # a frame this large or larger carries the slice (6 kB at T = 64)
GAP_MS = 400  # between switches: the kernel's warming thread gets to run, as for a user
LAYERS = [3, 10, 17, 24, 1, 8, 15, 22, 29, 6, 13, 20, 27, 4, 11, 18]  # each shown once

# every websocket frame, in and out, with the page's clock (installed before JupyterLab loads)
FRAMES_JS = """(() => {
  const log = [];
  window.__frames = log;
  const size = (d) => (typeof d === 'string' ? d.length : (d.byteLength ?? d.size ?? 0));
  const Base = window.WebSocket;
  window.WebSocket = class extends Base {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', (e) => log.push(['in', performance.now(), size(e.data)]));
    }
    send(d) {
      log.push(['out', performance.now(), size(d)]);
      return super.send(d);
    }
  };
})();"""


def _phases(frames: list, total: float) -> dict | None:
    """ms from the switch's event: request out, first frame in, slice in, painted."""
    out = [f for f in frames if f[0] == "out"]
    back = [f for f in frames if f[0] == "in" and out and f[1] > out[0][1]]
    if not out or not back:
        return None  # served from the browser's cache: no round trip
    reply = max(back, key=lambda f: f[2])
    if reply[2] < SLICE_MIN_BYTES:
        return None  # prefetched: only the trait update and its status frames went by
    return {"sent": out[0][1], "first_in": back[0][1], "slice_in": reply[1], "painted": total}


def _cold_switches(page, tool: str, wire=None) -> dict:
    rows = []
    for layer in LAYERS:
        page.wait_for_timeout(GAP_MS)
        t0 = page.evaluate("() => performance.now()")
        total = page.evaluate(browser_bench.BOS_SWITCH_JS, ["layer", layer])
        page.wait_for_timeout(300)  # the frames that trail the paint (status, echo)
        frames = page.evaluate(
            "(t0) => window.__frames.filter((f) => f[1] >= t0).map((f) => [f[0], f[1] - t0, f[2]])",
            t0,
        )
        rows.append({"layer": layer, "frames": frames, "phases": _phases(frames, total)})
    return {"switches": rows}


def _median(rows: list[dict], a: str, b: str) -> float:
    return statistics.median(r["phases"][b] - r["phases"][a] for r in rows)


def main() -> dict:
    sizes = [int(t) for t in os.environ.get("BOSW_BENCH_T", "64,1024").split(",")]
    load = os.getloadavg()
    rows = browser_bench.run(
        [("bos_widget", T) for T in sizes], switches=_cold_switches, init_js=FRAMES_JS
    )
    lines = [
        "## Where a cold layer switch's time goes (JupyterLab, headless Chromium, SmolLM2)",
        "",
        f"Load average (1 min) {load[0]:.2f} before, {os.getloadavg()[0]:.2f} after; "
        f"{len(LAYERS)} switches to layers not shown before, {GAP_MS} ms apart; medians, ms.",
        "",
        "| T | switches timed | event -> request out | request -> first frame back "
        "| -> slice back | slice -> painted | total (p50 / max) |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        timed = [s for s in r.get("switches", []) if s["phases"]]
        if not timed:
            lines.append(f"| {r['T']} | none: {r.get('error', 'served from cache')} | | | | | |")
            continue
        totals = [s["phases"]["painted"] for s in timed]
        sent = statistics.median(s["phases"]["sent"] for s in timed)
        cells = [
            str(r["T"]),
            str(len(timed)),
            f"{sent:.0f}",
            f"{_median(timed, 'sent', 'first_in'):.0f}",
            f"{_median(timed, 'first_in', 'slice_in'):.0f}",
            f"{_median(timed, 'slice_in', 'painted'):.0f}",
            f"{statistics.median(totals):.0f} / {max(totals):.0f}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        "The first frame back is the kernel's 'busy' status for the request: browser -> "
        "jupyter_server -> kernel -> back. 'Slice back' adds the kernel's handler (a cache hit "
        "once the warming thread has encoded the slice) and the reply's way out.",
    ]
    data = {"load_before": load, "rows": rows}
    save("roundtrip", data, lines)
    return data
