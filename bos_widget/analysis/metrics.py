"""Metrics layer: the model-free diagnostics of ``shared/SCIENCE.md`` (pure numpy).

Notation: ``A[l, h, q, k]`` is the attention of query ``q`` to key ``k``; rows sum to 1.
Every function takes arrays, not runs, so it can be tested on hand-built attention, and
loops over layers where a float32 copy of the whole stack would be large. No torch here.
"""

from __future__ import annotations

from typing import Any

import numpy as np

# Sun et al. 2024: an activation is "massive" when |x| > 100 and > 1000 x the median |x|.
MASSIVE_ABS = 100.0
MASSIVE_RATIO = 1000.0


# A key's D1 score must average over at least this many queries (fewer when T is smaller)
# before the key is called a sink: in a causal model the last key's score is one query's
# attention to itself. The front end applies the same rule (js/src/sinks.ts).
MIN_SUPPORT = 4


def supported_keys(t: int, causal: bool) -> np.ndarray:
    """bool ``[T]``: keys seen by at least ``min(MIN_SUPPORT, T)`` queries."""
    return query_counts(t, t, causal) >= min(MIN_SUPPORT, t)


def query_counts(t_q: int, t_k: int, causal: bool) -> np.ndarray:
    """D1's support ``|Q(k)|`` per key: the queries that can see key ``k``.

    ``T - k`` queries at or after ``k`` in a causal model, every one of the ``T_q`` queries
    otherwise; float32 ``[T_k]``. The front end states the same count beside each sink score.
    """
    if causal:
        return np.maximum(t_q - np.arange(t_k), 1).astype(np.float32)
    return np.full(t_k, float(t_q), dtype=np.float32)


def future_weight(weights: np.ndarray) -> float:
    """Largest attention ``[..., T, T]`` puts above the diagonal (on later keys); 0.0 when
    there is no cell above it (T < 2, or no maps), NaN when a weight there is NaN."""
    t = np.shape(weights)[-1] if np.ndim(weights) else 0
    upper = np.asarray(weights)[..., np.triu(np.ones((t, t), dtype=bool), 1)]
    return float(upper.max()) if upper.size else 0.0


def is_causal(weights: np.ndarray) -> bool:
    """True when attention ``[..., T, T]`` puts exactly zero above the diagonal (T >= 2).

    The one causal test of the package (weights are >= 0); ``capture/eager.py`` keeps a torch twin,
    ``_tensor_is_causal``, for maps that stay on the model's device.
    """
    if np.ndim(weights) < 2 or np.shape(weights)[-1] < 2:
        return False
    return future_weight(weights) == 0


def sink_scores(attention: np.ndarray, causal: bool) -> np.ndarray:
    """D1: sink score of every key, ``alpha[..., k] = mean_{q in Q(k)} A[..., q, k]``.

    ``Q(k) = {q >= k}`` for causal models and all queries otherwise (Gu et al., ICLR 2025).
    Causal attention has ``A[q, k] = 0`` for ``k > q``, so a column sum already runs over
    ``Q(k)`` only.

    Parameters
    ----------
    attention : np.ndarray
        ``[..., T_q, T_k]``, e.g. ``[L, H, T, T]`` or one head ``[T, T]``; any float dtype.
    causal : bool

    Returns
    -------
    np.ndarray
        float32 ``[..., T_k]`` with values in [0, 1].
    """
    att = np.asarray(attention)
    counts = query_counts(att.shape[-2], att.shape[-1], causal)
    if att.ndim > 3:  # loop over the leading axis to avoid a float32 copy of everything
        return np.stack([sink_scores(a, causal) for a in att])
    return att.sum(axis=-2, dtype=np.float32) / counts


def slot_scores(sink_slot: np.ndarray) -> np.ndarray:
    """D1 of the learned sink slot (SCIENCE.md D13), counted as a key of its own.

    A learned sink logit (gpt-oss) sits in every row's softmax denominator but is no token:
    it takes ``p_sink[q]`` of query ``q``'s mass and rows of ``A`` sum to ``1 - p_sink``. Every
    query sees it, causal or not, so its score is the mean over all queries,
    ``alpha_slot[l, h] = mean_q p_sink[l, h, q]``, compared with ``eps`` like any key's
    ``alpha[l, h, k]``. For every row ``sum_k A[q, k] + p_sink[q] = 1``.

    Parameters
    ----------
    sink_slot : np.ndarray
        ``[..., T_q]`` ``p_sink`` per query (``run.sink_slot`` is ``[L, H, T_q]``).

    Returns
    -------
    np.ndarray
        float32 ``[...]``, values in [0, 1].
    """
    return np.asarray(sink_slot, dtype=np.float32).mean(axis=-1)


def first_token_scores(attention: np.ndarray, output_norms: np.ndarray | None = None) -> np.ndarray:
    """D1 at position 0 only, ``alpha[..., 0] = mean_q A[..., q, 0]``, reading one column.

    Every query sees position 0, in causal and bidirectional models alike, so the mean runs
    over all queries. With ``output_norms`` the D3 norm-weighted share is scored instead,
    ``A[q, 0] ||f(x_0)|| / sum_j A[q, j] ||f(x_j)||``.

    Parameters
    ----------
    attention : np.ndarray
        ``[..., T, T]``.
    output_norms : np.ndarray, optional
        ``[..., T]``, matching the leading axes of ``attention``.

    Returns
    -------
    np.ndarray
        float32 ``[...]``.
    """
    att = np.asarray(attention)
    column = att[..., :, 0].astype(np.float32)  # [..., T_q]
    if output_norms is None:
        return column.mean(axis=-1)
    n = np.asarray(output_norms, dtype=np.float32)
    if att.ndim > 3:
        return np.stack([first_token_scores(a, o) for a, o in zip(att, n, strict=True)])
    denom = (att.astype(np.float32) @ n[..., :, None])[..., 0]  # [..., T_q]
    share = np.divide(column * n[..., :1], denom, out=np.zeros_like(column), where=denom > 0)
    return share.mean(axis=-1)


def sink_rate(alpha0: np.ndarray, eps: float = 0.3) -> float:
    """D2: fraction of heads whose first-token sink score exceeds ``eps``.

    Parameters
    ----------
    alpha0 : np.ndarray
        ``[L, H]`` sink scores of position 0 (``sink_scores(A, causal)[..., 0]``).
    eps : float
        Threshold; the published protocol uses 0.3 (and 0.8) at T = 64.
    """
    a = np.asarray(alpha0)
    return float(np.mean(a > eps)) if a.size else 0.0


def norm_weighted(attention: np.ndarray, output_norms: np.ndarray) -> np.ndarray:
    """D3: norm-weighted attention share (Kobayashi et al., EMNLP 2020).

    ``N[q, k] = ||A[q, k] f(x_k)|| = A[q, k] ||f(x_k)||`` (A is non-negative), returned as
    the share ``N[q, k] / sum_j N[q, j]`` so that each row sums to 1 like attention does.

    Parameters
    ----------
    attention : np.ndarray
        ``[..., T_q, T_k]``.
    output_norms : np.ndarray
        ``||f(x_k)|| = ||v_k W_O^h||`` broadcastable to ``[..., T_k]``.

    Returns
    -------
    np.ndarray
        float32 ``[..., T_q, T_k]``; a row whose norms are all zero stays all zero.
    """
    n = np.asarray(attention, dtype=np.float32) * np.asarray(output_norms, np.float32)[..., None, :]
    total = n.sum(axis=-1, keepdims=True)
    return np.divide(n, total, out=np.zeros_like(n), where=total > 0)


def drain_ratio(norms: np.ndarray, position: int = 0) -> np.ndarray:
    """D4: ``rho = ||x_p|| / mean_{k != p} ||x_k||`` for value or key norms.

    Parameters
    ----------
    norms : np.ndarray
        ``[..., T]`` per-token norms (``value_norms`` or ``key_norms`` ``[L, H, T]``).

    Returns
    -------
    np.ndarray
        ``[...]``; values below 1 mean the token's vector is smaller than the others'.
    """
    x = np.asarray(norms, dtype=np.float32)
    others = np.delete(x, position, axis=-1)
    if others.shape[-1] == 0:
        return np.full(x.shape[:-1], np.nan, dtype=np.float32)
    return x[..., position] / np.maximum(others.mean(axis=-1), 1e-12)


def residual_peak(hidden_norms: np.ndarray, position: int = 0) -> np.ndarray:
    """D5: per layer ``||h_p|| / median_k ||h_k||``.

    Parameters
    ----------
    hidden_norms : np.ndarray
        ``[L + 1, T]``.

    Returns
    -------
    np.ndarray
        ``[L + 1]``.
    """
    h = np.asarray(hidden_norms, dtype=np.float32)
    return h[:, position] / np.maximum(np.median(h, axis=-1), 1e-12)


def massive_activations(
    max_abs: np.ndarray,
    median_abs: np.ndarray,
    abs_threshold: float = MASSIVE_ABS,
    ratio: float = MASSIVE_RATIO,
) -> np.ndarray:
    """D5: flag tokens holding a massive activation (Sun et al., COLM 2024).

    A token is flagged in a layer when its largest ``|x|`` exceeds ``abs_threshold`` and
    ``ratio`` times the layer's median ``|x|``.

    Parameters
    ----------
    max_abs : np.ndarray
        ``[L + 1, T]`` largest absolute hidden-state entry per token.
    median_abs : np.ndarray
        ``[L + 1]`` median absolute entry of each layer.

    Returns
    -------
    np.ndarray
        bool ``[L + 1, T]``.
    """
    m = np.asarray(max_abs, dtype=np.float32)
    med = np.asarray(median_abs, dtype=np.float32)[:, None]
    return (m > abs_threshold) & (m > ratio * med)


def head_mean(attention: np.ndarray) -> np.ndarray:
    """Mean over heads of one layer, ``[H, T_q, T_k] -> [T_q, T_k]`` in float32."""
    return np.asarray(attention).mean(axis=0, dtype=np.float32)


POOLS = ("max", "mean")


def bin_edges(start: int, stop: int, bins: int) -> np.ndarray:
    """int64 ``[n + 1]`` edges splitting positions ``[start, stop)`` into ``n`` bins.

    ``n = min(bins, stop - start)``: a range no longer than ``bins`` gets one position per bin
    (no pooling), a longer one bins of ``floor`` or ``ceil`` of ``(stop - start) / bins``.
    """
    if stop <= start or bins < 1:
        raise ValueError(f"Need a non-empty range and bins >= 1, got [{start}, {stop}), {bins}.")
    n = min(int(bins), stop - start)
    return start + (np.arange(n + 1, dtype=np.int64) * (stop - start)) // n


def pool(matrix: np.ndarray, row_edges: np.ndarray, col_edges: np.ndarray, how: str) -> np.ndarray:
    """Pool ``matrix`` ``[R, C]`` into blocks: cell ``(i, j)`` is the max (or mean) of the
    rows ``row_edges[i]..row_edges[i+1]`` and columns ``col_edges[j]..col_edges[j+1]``.

    Edges are relative to the matrix (first edge 0, last ``R`` / ``C``). Means count every
    cell of a block, masked (zero) cells of a causal map included. Returns float32.
    """
    if how not in POOLS:
        raise ValueError(f"pool must be one of {POOLS}, got {how!r}.")
    m = np.asarray(matrix, dtype=np.float32)
    ufunc = np.maximum if how == "max" else np.add
    out = ufunc.reduceat(ufunc.reduceat(m, row_edges[:-1], axis=0), col_edges[:-1], axis=1)
    if how == "mean":
        out /= np.outer(np.diff(row_edges), np.diff(col_edges)).astype(np.float32)
    return out


def strongest_sink_layer(alpha0: Any) -> int:
    """The layer whose heads put the most attention on position 0.

    Parameters
    ----------
    alpha0 : array-like
        ``[L, H]`` sink score α[l, h, 0] of position 0 (D1), e.g. the widget's sink grid.

    Returns
    -------
    int
        ``argmax_l mean_h α[l, h, 0]`` (the first such layer on a tie; 0 for no layers).
    """
    a = np.asarray(alpha0, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] == 0:
        return 0
    return int(np.argmax(a.mean(axis=1)))
