"""Bytes sent to the browser for the first view of SmolLM2, and the Python time to make them.

Goal (issue 3): the first render at T = 512 sends under 2 MB. The opening state is the JSON
of every synced trait; the first view then asks for one ``[T, T]`` slice (layer 0, mean of
heads). bertviz's ``head_view`` on the same model and text embeds every weight as JSON text.
"""

from __future__ import annotations

import json
import time

from ._common import save, token_ids

GOAL_BYTES = 2_000_000


def first_view(T: int) -> dict:
    import bos_widget
    from bos_widget.models import load_cached

    model, tok = load_cached("smollm2")
    ids = token_ids(tok, T)
    text = tok.decode(ids)
    start = time.perf_counter()
    run = bos_widget.capture(model, tok, text, max_tokens=T, progress=False)
    captured = time.perf_counter()
    widget = bos_widget.AttentionWidget(run)
    state = widget.get_state()
    state_bytes = len(json.dumps(state).encode())
    slice_bytes = len(widget._server.encoded(widget.layer, widget.head, widget.weighting))
    done = time.perf_counter()
    return {
        "T": run.T,
        "state_bytes": state_bytes,
        "first_slice_bytes": slice_bytes,
        "first_view_bytes": state_bytes + slice_bytes,
        "capture_s": captured - start,
        "widget_s": done - captured,
    }


def main(sizes: tuple[int, ...] = (32, 128, 512, 1024)) -> list[dict]:
    rows = [first_view(T) for T in sizes]
    lines = [
        "## Bytes to the browser for the first view (SmolLM2, 30 x 9 heads)",
        "",
        "| T | opening state (JSON) | first slice (binary) | total | capture (s) | widget (s) |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['T']} | {r['state_bytes'] / 1e3:.1f} kB | {r['first_slice_bytes'] / 1e3:.1f} kB "
            f"| {r['first_view_bytes'] / 1e6:.2f} MB | {r['capture_s']:.2f} | {r['widget_s']:.3f} |"
        )
    at512 = next((r for r in rows if r["T"] == 512), None)
    if at512:
        ok = "met" if at512["first_view_bytes"] < GOAL_BYTES else "MISSED"
        lines += [
            "",
            f"Goal: under 2 MB at T = 512: {ok} ({at512['first_view_bytes'] / 1e6:.2f} MB).",
        ]
    save("transport", rows, lines)
    return rows
