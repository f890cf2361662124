"""What every benchmark shares: the input text, token ids of a given length, and where and how
results are written (``benchmarks/results/<name>.json`` and ``.md``, the markdown printed)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"
TEXT = (
    "The old lighthouse keeper climbed the stairs every evening to light the lamp, because "
    "ships still passed the rocks at night. "
)


def token_ids(tokenizer: Any, T: int) -> list[int]:
    """Exactly ``T`` token ids of natural text (``TEXT`` repeated as often as needed)."""
    return tokenizer(TEXT * (T // 20 + 2))["input_ids"][:T]


def save(name: str, data: Any, lines: list[str]) -> str:
    """Write ``data`` as JSON and ``lines`` as markdown under ``results/``; print the markdown."""
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(data, indent=1))
    text = "\n".join(lines) + "\n"
    (RESULTS / f"{name}.md").write_text(text)
    print(text)
    return text


def status_kb(field: str) -> int:
    """A ``kB`` field of this process's ``/proc/self/status`` (``VmRSS``, ``VmHWM``, ...)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")
