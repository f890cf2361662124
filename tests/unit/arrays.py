"""Hand-built attention for unit tests (numpy only, no model)."""

from __future__ import annotations

import numpy as np


def sinky(L: int, H: int, T: int, causal: bool = True, seed: int = 0) -> np.ndarray:
    """Random row-stochastic attention ``[L, H, T, T]`` (float32) with extra weight on key 0,
    lower-triangular when ``causal``."""
    rng = np.random.default_rng(seed)
    A = rng.random((L, H, T, T)).astype(np.float32) ** 4
    A[..., 0] += 1.0
    if causal:
        A = np.tril(A)
    return A / A.sum(-1, keepdims=True)
