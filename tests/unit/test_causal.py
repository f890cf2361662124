"""One causal test: metrics.is_causal (numpy) and its torch twin on hand-built maps."""

import numpy as np
import pytest
import torch

from bos_widget.analysis import metrics
from bos_widget.capture.eager import _tensor_is_causal


def _maps() -> list[tuple[np.ndarray, bool, float]]:
    """(attention, causal?, largest weight above the diagonal)."""
    lower = np.tril(np.ones((4, 4), np.float32))
    lower /= lower.sum(-1, keepdims=True)  # [T, T], causal
    leak = lower.copy()
    leak[1, 3] = 0.25  # query 1 sees the later key 3
    uniform = np.full((2, 3, 4, 4), 0.25, np.float32)  # [L, H, T, T], bidirectional
    tiny_leak = np.stack([lower, lower])[None].copy()
    tiny_leak[0, 1, 0, 2] = 1e-7
    return [
        (lower, True, 0.0),
        (np.stack([lower] * 3)[None], True, 0.0),  # [1, 3, T, T]
        (lower.astype(np.float16), True, 0.0),
        (leak, False, 0.25),
        (uniform, False, 0.25),
        (tiny_leak, False, 1e-7),  # exactly zero, not nearly
        (np.ones((1, 1), np.float32), False, 0.0),  # T = 1 says nothing
    ]


@pytest.mark.parametrize(("attention", "causal", "future"), _maps())
def test_is_causal_and_future_weight_on_hand_built_maps(attention, causal, future):
    assert metrics.is_causal(attention) is causal
    assert metrics.future_weight(attention) == pytest.approx(future, rel=1e-6)
    assert _tensor_is_causal(torch.from_numpy(attention)) is causal  # the torch twin agrees


def test_nan_above_the_diagonal_is_not_causal():
    a = np.tril(np.ones((3, 3), np.float32)) / 3
    a[0, 2] = np.nan
    assert not metrics.is_causal(a) and not _tensor_is_causal(torch.from_numpy(a))
    assert np.isnan(metrics.future_weight(a))
