"""Analysis layer (explain, pure numpy): bootstrap intervals over texts and three-way outcomes.

Every corpus-level number of ``explain`` is a mean over texts of a per-text value, reported as
``Interval(mean, lo, hi, n)``: a 95% percentile bootstrap interval from resampling the texts
with replacement (seeded, so a report is reproducible). A prediction is then judged on the
interval: ``"for"`` when the whole interval lies on its side of the threshold, ``"against"``
when it lies wholly on the other side, ``"undecided"`` when it straddles the threshold.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

N_BOOT = 2000
LEVEL = 0.95


@dataclass(frozen=True)
class Interval:
    """Mean over ``n`` texts with its 95% bootstrap interval ``[lo, hi]``."""

    mean: float
    lo: float
    hi: float
    n: int

    def __str__(self) -> str:
        return f"{_fmt(self.mean)} [{_fmt(self.lo)}, {_fmt(self.hi)}] (n={self.n})"

    def outcome(self, threshold: float, above: bool = True) -> str:
        """``"for"`` / ``"against"`` / ``"undecided"`` for the prediction "mean > threshold"
        (or "mean < threshold" when ``above`` is False), judged on the whole interval."""
        if self.lo > threshold:
            return "for" if above else "against"
        if self.hi < threshold:
            return "against" if above else "for"
        return "undecided"


def _fmt(x: float) -> str:
    if not np.isfinite(x):
        return "nan"
    return f"{x:.3g}" if abs(x) < 1e4 else f"{x:.3e}"


def bootstrap(
    values: np.ndarray,
    stat: Callable[[np.ndarray], float] | None = None,
    n_boot: int = N_BOOT,
    seed: int = 0,
) -> Interval:
    """95% percentile bootstrap of ``stat`` (default: the mean) over the first axis.

    Parameters
    ----------
    values : np.ndarray
        ``[n, ...]``: one entry per text (NaN rows are dropped for the mean).
    stat : callable, optional
        Maps a resampled ``[n, ...]`` array to a number; default ``nanmean`` of a 1-D array.
    """
    x = np.asarray(values, dtype=np.float64)
    if stat is None:
        x = x.reshape(len(x), -1).mean(-1) if x.ndim > 1 else x
        x = x[np.isfinite(x)]
    n = len(x)
    if n == 0:
        return Interval(float("nan"), float("nan"), float("nan"), 0)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(n_boot, n))
    if stat is None:
        point, draws = float(x.mean()), x[idx].mean(-1)
    else:
        point = float(stat(x))
        draws = np.array([stat(x[i]) for i in idx])
    tail = (1 - LEVEL) / 2 * 100
    lo, hi = np.percentile(draws, [tail, 100 - tail])
    return Interval(point, float(lo), float(hi), n)


def combine(outcomes: list[str]) -> str:
    """A verdict from the outcomes of a claim's predictions (each for/against/undecided).

    All for: supported; all against: contradicted; some of each: partly supported; anything
    else (undecided predictions and no disagreement between decided ones): undecided.
    """
    if not outcomes:
        return "not applicable"
    if all(o == "for" for o in outcomes):
        return "supported"
    if all(o == "against" for o in outcomes):
        return "contradicted"
    if "for" in outcomes and "against" in outcomes:
        return "partly supported"
    return "undecided"
