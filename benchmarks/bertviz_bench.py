"""Python side of bos_widget against bertviz's ``head_view`` on SmolLM2: bytes for the first
view, the Python time to produce them and the process's peak RSS, in the same run.

bertviz embeds every attention weight as JSON text in the page; bos_widget sends small JSON
state plus one binary ``[T, T]`` slice. Each (tool, T) runs in a fresh child process with a
time limit; a size that does not finish is recorded with how long it ran. Both tools pay for
the same eager forward; it is also timed on its own (``forward_s``), so that each tool's own
work can be compared as well. The browser side is in ``browser_bench``.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path

from ._common import save, status_kb, token_ids

LIMIT_S = 240
MEMORY_CAP = 16 * 2**30  # the machine has 24 GB; bertviz at T = 1024 would need more


def _child(tool: str, T: int) -> None:
    """In a child process: print bytes and seconds for one tool at one size, as JSON."""
    import torch

    import bos_widget
    from bos_widget.models import load_cached

    model, tok = load_cached("smollm2")
    ids = token_ids(tok, T)
    text = tok.decode(ids)
    model.set_attn_implementation("eager")
    with torch.inference_mode():  # warm-up, then the forward both tools share, timed alone
        model(input_ids=torch.tensor([ids[:16]]))
        runs = []
        for _ in range(2):  # the faster of two: the shared cost, not the machine's noise
            t0 = time.perf_counter()
            model(input_ids=torch.tensor([ids]), use_cache=False)
            runs.append(time.perf_counter() - t0)
        forward_s = min(runs)
    model.set_attn_implementation("sdpa")
    Path("/proc/self/clear_refs").write_text("5")  # peak RSS (VmHWM) counts from here
    before_kb = status_kb("VmRSS")
    start = time.perf_counter()
    if tool == "bertviz":
        from bertviz import head_view

        model.set_attn_implementation("eager")
        enc = {"input_ids": torch.tensor([ids])}
        with torch.inference_mode():
            attentions = model(**enc, output_attentions=True).attentions
        html = head_view(attentions, tok.convert_ids_to_tokens(ids), html_action="return")
        size = len(html.data.encode())
    else:
        widget = bos_widget.show(text, max_tokens=T, progress=False)
        state = json.dumps(widget.get_state()).encode()
        size = len(state) + len(widget._server.encoded(widget.layer, widget.head, "raw"))
    seconds = time.perf_counter() - start
    peak = status_kb("VmHWM")
    print(
        json.dumps(
            {
                "bytes": size,
                "seconds": seconds,
                "forward_s": forward_s,
                "peak_rss_mb": peak / 1024,
                "rss_growth_mb": (peak - before_kb) / 1024,
            }
        )
    )


def _cap_memory() -> None:
    """In the child: at most ``MEMORY_CAP`` bytes of address space, so that a size too big
    for the machine ends in a MemoryError instead of taking the machine down with it."""
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


def _measure(tool: str, T: int) -> dict:
    code = f"from benchmarks.bertviz_bench import _child; _child({tool!r}, {T})"
    start = time.perf_counter()
    try:
        out = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            timeout=LIMIT_S,
            check=True,
            preexec_fn=_cap_memory,
        )
    except subprocess.TimeoutExpired:
        return {"tool": tool, "T": T, "finished": False, "ran_s": time.perf_counter() - start}
    except subprocess.CalledProcessError as exc:
        last = (exc.stderr or "").strip().splitlines()[-1:] or [f"exit code {exc.returncode}"]
        return {
            "tool": tool,
            "T": T,
            "finished": False,
            "ran_s": time.perf_counter() - start,
            "failed": last[0][:200],
        }
    data = json.loads(out.stdout.strip().splitlines()[-1])
    return {"tool": tool, "T": T, "finished": True, **data}


def main(sizes: tuple[int, ...] = (32, 128, 512)) -> list[dict]:
    rows = []
    for T in sizes:
        ours, theirs = _measure("bos_widget", T), _measure("bertviz", T)
        rows.append({"T": T, "bos_widget": ours, "bertviz": theirs})
    lines = [
        "## First view: bos_widget vs bertviz head_view (SmolLM2, 30 x 9 heads, CPU)",
        "",
        "| T | bos_widget bytes | bertviz bytes | bytes ratio | bos_widget s | bertviz s "
        "| time ratio |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        o, b = r["bos_widget"], r["bertviz"]
        if b["finished"]:
            lines.append(
                f"| {r['T']} | {o['bytes'] / 1e6:.2f} MB | {b['bytes'] / 1e6:.1f} MB | "
                f"{b['bytes'] / o['bytes']:.0f}x | {o['seconds']:.2f} | {b['seconds']:.2f} | "
                f"{b['seconds'] / o['seconds']:.1f}x |"
            )
        else:
            lines.append(
                f"| {r['T']} | {o['bytes'] / 1e6:.2f} MB | not finished after {b['ran_s']:.0f} s "
                f"| - | {o['seconds']:.2f} | > {b['ran_s']:.0f} | - |"
            )
    lines += [
        "",
        "Times include capture (both tools run the same model forward); bos_widget's bytes are "
        "the opening widget state (including the JS bundle anywidget sends) plus the first slice.",
    ]
    save("bertviz", rows, lines)
    return rows
