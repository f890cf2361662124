"""``python -m benchmarks [name ...]``: run the benchmarks (the side-by-side table by default).

``side_by_side`` runs the others it needs (Python side, browser, capture, long inputs) and
prints one table; each can also be run alone by name. ``factors_long`` (T = 8192 and
16,384, ~15 minutes) runs only by name or with ``BOSW_BENCH_LONG=1``. ``switch`` measures
bos_widget's switches alone (latency and bytes on the wire) at ``BOSW_BENCH_T`` (default 1024);
``roundtrip`` splits a cold switch into Jupyter's message path, the kernel and the page.
"""

from __future__ import annotations

import sys

from . import (
    bertviz_bench,
    capture_bench,
    factor_bench,
    long_bench,
    roundtrip_bench,
    side_by_side,
    switch_bench,
    transport_bench,
)

BENCHES = {
    "side_by_side": side_by_side.main,
    "capture": capture_bench.main,
    "transport": transport_bench.main,
    "bertviz": bertviz_bench.main,
    "long": long_bench.main,
    "factors": factor_bench.main,
    "factors_long": factor_bench.main_long,
    "switch": switch_bench.main,
    "roundtrip": roundtrip_bench.main,
}


def main(argv: list[str]) -> int:
    names = argv or ["side_by_side"]
    unknown = [n for n in names if n not in BENCHES]
    if unknown:
        print(f"unknown benchmark(s) {unknown}; choose from {list(BENCHES)}", file=sys.stderr)
        return 2
    for name in names:
        BENCHES[name]()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
