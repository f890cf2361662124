"""Pooled slices for long inputs: the kernel time to answer one view request and the bytes it
sends, against sending the whole ``[T, T]`` slice.

Above ``slices.POOL_ABOVE_T`` the matrix view asks for the visible region pooled to
``POOL_BINS`` blocks a side (exact once a zoom fits them), and the reply carries every key's
sink score. The run is handed-in maps (``from_attentions``: random causal softmax rows with a
sink on token 0, L = 2, H = 3), so the times are numpy's: read, pool, encode. Factor runs
(q/k recomputed) add the attention itself. Run: ``python -m benchmarks.pooled_bench``.
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np

from ._common import save

L, H = 2, 3


def causal_maps(T: int, seed: int = 0) -> np.ndarray:
    """float16 ``[L, H, T, T]``: random causal softmax rows with a sink on position 0."""
    rng = np.random.default_rng(seed)
    att = np.empty((L, H, T, T), np.float16)
    upper = np.triu(np.full((T, T), -np.inf, np.float32), 1)
    for layer in range(L):
        for head in range(H):
            x = rng.standard_normal((T, T), dtype=np.float32) + upper
            x[:, 0] += 9
            x -= x.max(-1, keepdims=True)
            np.exp(x, out=x)
            x /= x.sum(-1, keepdims=True)
            att[layer, head] = x
    return att


def _request(widget, **fields) -> tuple[float, int, dict]:
    """Time one request through the widget's handler; bytes = JSON message + buffers."""
    sent: list[tuple[dict, list]] = []
    widget.send = lambda msg, buffers=None: sent.append((msg, buffers or []))
    msg = {"kind": "request", "layer": 0, "weighting": "raw", **fields}
    start = time.perf_counter()
    widget._on_message(widget, msg, [])
    took = time.perf_counter() - start
    content, buffers = sent[-1]
    assert content["kind"] == "slice", content
    return took, len(json.dumps(content).encode()) + sum(len(b) for b in buffers), content


def measure(T: int) -> dict:
    import bos_widget
    from bos_widget.transport import codec, slices

    att = causal_maps(T)
    tokens = [f"t{i}" for i in range(T)]

    def fresh():
        w = bos_widget.AttentionWidget.from_attentions(att, tokens, causal=True)
        w._server.warm = lambda *a: None  # no background thread: time one request alone
        return w

    out: dict = {"T": T, "L": L, "H": H, "bins": slices.POOL_BINS}
    w = fresh()
    out["first_head_s"], out["pooled_bytes"], _ = _request(w, head=1)
    out["cached_head_s"], _, _ = _request(w, head=1)
    out["first_mean_s"], _, _ = _request(fresh(), head=-1)
    out["next_head_s"], _, _ = _request(w, head=2)  # sink scores of the run already known
    zoom = {"queries": [T // 2, T // 2 + 512], "keys": [T // 4, T // 4 + 512], "bins": 1024}
    out["zoom_s"], out["zoom_bytes"], zreply = _request(w, head=1, **zoom)
    assert zreply["bins"] is None
    m = w.run.slice(0, 1)
    out["full_u8_bytes"] = len(codec.encode(m, "uint8", lower=True))
    out["full_f16_bytes"] = len(codec.encode(m, "float16", lower=True))
    out["full_f32_browser_bytes"] = 4 * T * T
    out["pooled_f32_browser_bytes"] = 4 * slices.POOL_BINS**2 + 4 * T
    # warm-up of every slice (pooled) in the background, as the widget does after a request
    server = slices.SliceServer(w.run)
    start = time.perf_counter()
    thread = server.warm(0, 1)
    assert thread is not None
    thread.join()
    out["warm_all_s"] = time.perf_counter() - start
    out["warm_bytes"] = server._cache_bytes
    out["warm_slices"] = len(server._cache)
    return out


def main(sizes: tuple[int, ...] = (4096,)) -> list[dict]:
    rows = [measure(T) for T in sizes]
    lines = [
        f"## One pooled slice request (handed-in maps, L = {L}, H = {H})",
        "",
        "| T | bins | first request, one head (s) | next head (s) | mean of heads (s) | cached (s) "
        "| bytes sent | whole slice, uint8 (bytes) | zoom 512 x 512 exact (s, bytes) "
        f"| warm-up of all {L * (H + 1)} (s, MB) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['T']} | {r['bins']} | {r['first_head_s']:.3f} | {r['next_head_s']:.3f} "
            f"| {r['first_mean_s']:.3f} | {r['cached_head_s']:.4f} "
            f"| {r['pooled_bytes'] / 1e6:.2f} MB | {r['full_u8_bytes'] / 1e6:.2f} MB "
            f"(float16 {r['full_f16_bytes'] / 1e6:.1f} MB) "
            f"| {r['zoom_s']:.3f}, {r['zoom_bytes'] / 1e3:.0f} kB "
            f"| {r['warm_all_s']:.2f}, {r['warm_bytes'] / 1e6:.1f} |"
        )
    lines += [
        "",
        "Bytes sent = the reply's JSON (stats included) + the pooled slice (uint8, lower "
        "triangle) + every key's sink score (float16). In the browser a whole slice would "
        "take 4 T^2 bytes of float32 (T = 4096: 67 MB; the cache holds 64); a pooled one "
        "4 bins^2 (4.2 MB). The first request of a run also sums the run's sink scores "
        "(every head, once); 'next head' is a request after that.",
    ]
    save("pooled", rows, lines)
    return rows


if __name__ == "__main__":
    main(tuple(int(a) for a in sys.argv[1:]) or (4096,))
