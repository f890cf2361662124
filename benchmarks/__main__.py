"""``python -m benchmarks [name ...]``: run the benchmarks (all by default)."""

from __future__ import annotations

import sys

from . import bertviz_bench, browser_bench, capture_bench, transport_bench

BENCHES = {
    "capture": capture_bench.main,
    "transport": transport_bench.main,
    "browser": browser_bench.main,
    "bertviz": bertviz_bench.main,
}


def main(argv: list[str]) -> int:
    names = argv or list(BENCHES)
    unknown = [n for n in names if n not in BENCHES]
    if unknown:
        print(f"unknown benchmark(s) {unknown}; choose from {list(BENCHES)}", file=sys.stderr)
        return 2
    for name in names:
        BENCHES[name]()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
