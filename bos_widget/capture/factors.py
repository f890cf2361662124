"""Capture layer: attention kept as its factors, ``q`` and ``k``; exact slices on demand.

A layer's attention is ``A = softmax(q kᵀ · scale + mask)``, with ``q`` ``[H, T_q, d]`` and
``k`` ``[H_kv, T_k, d]``: O(T d) numbers where ``A`` has O(H T²). :class:`Factors` holds
``q`` and ``k`` of every layer exactly as the model's attention used them (after rotary
embedding and QK-norm), with what else defines ``A`` — scale, causal mask, sliding window,
logit softcap, learned sink logits — and recomputes any rows of ``A`` in float32, in query
blocks, on the device the factors live on. Keys no query of a block can see (after the
diagonal of a causal map, before a sliding window) are skipped, so a slice costs what its
visible part costs.

:func:`probs` is the one rule that turns factors into attention; capture measures sink
scores with it from the live float32 tensors, and slices are rebuilt with it later.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ..analysis import metrics

BLOCK_BYTES = 8 * 2**20  # float32 probabilities held per block of query rows
MIN_BLOCK_ROWS = 64  # fewer rows make matmuls too thin to run fast


@dataclass(frozen=True)
class Rule:
    """What, besides q and k, defines one layer's attention.

    Attributes
    ----------
    scale : float
        Multiplies ``q kᵀ`` (usually ``d ** -0.5``).
    causal : bool
        Query ``t`` sees keys ``<= t + (T_k - T_q)`` only.
    window : int or None
        Sliding window: query ``t`` sees keys ``j`` with ``t - j < window``.
    softcap : float or None
        Logits become ``softcap · tanh(logits / softcap)`` before the mask (Gemma 2).
    sinks : torch.Tensor or None
        float32 ``[H]``: a learned logit per head in the softmax denominator (gpt-oss). It is
        not a key: rows of ``A`` then sum to ``1 - p_sink``.
    rel_bias : torch.Tensor or None
        float32 ``[H, T_q + T_k - 1]``: an additive bias per head that depends on ``k - q``
        only, at index ``k - q + T_q - 1`` (T5's relative position bias).
    """

    scale: float
    causal: bool
    window: int | None = None
    softcap: float | None = None
    sinks: torch.Tensor | None = None
    rel_bias: torch.Tensor | None = None

    def visible(self, q0: int, q1: int, t_q: int, t_k: int) -> tuple[int, int]:
        """The key range ``[lo, hi)`` that queries ``q0..q1-1`` can see at all."""
        off = t_k - t_q
        hi = min(t_k, q1 + off) if self.causal else t_k
        lo = max(0, q0 + off - self.window + 1) if self.window else 0
        return lo, max(hi, lo)

    def allowed(self, q0: int, q1: int, lo: int, hi: int, t_q: int, t_k: int, device) -> Any:
        """bool ``[q1 - q0, hi - lo]`` of the keys each query sees, or ``None`` for all."""
        if not self.causal and not self.window:
            return None
        i32 = torch.int32
        rows = torch.arange(q0 + t_k - t_q, q1 + t_k - t_q, device=device, dtype=i32)
        rel = rows[:, None] - torch.arange(lo, hi, device=device, dtype=i32)[None, :]  # q - k
        ok = rel >= 0 if self.causal else torch.ones_like(rel, dtype=torch.bool)
        if self.window:
            ok &= rel < self.window
        return ok

    def partial(self, q0: int, q1: int, lo: int, hi: int, t_q: int, t_k: int) -> list:
        """Key ranges within ``[lo, hi)`` that some query of ``q0..q1-1`` may not see: the
        block's diagonal (causal) and its oldest keys (sliding window); every other key in
        ``[lo, hi)`` is seen by every query of the block."""
        off = t_k - t_q
        out = []
        if self.window:
            b = min(hi, q1 + off - self.window)
            if b > lo:
                out.append((lo, b))
        if self.causal:
            a = max(lo, q0 + off + 1)
            if a < hi:
                out.append((a, hi))
        return out


def _logits(q: torch.Tensor, k: torch.Tensor, heads: torch.Tensor, n_heads: int) -> torch.Tensor:
    """``q kᵀ`` ``[h, n, m]`` for query heads ``heads`` and keys ``k`` ``[H_kv, m, d]``.

    When every head is asked for, the queries of a key head's group share one matmul (no copy
    of the keys per query head)."""
    h, n, d = q.shape
    n_kv = k.shape[0]
    group = n_heads // n_kv
    qs = q.float()
    keys = k.float().transpose(1, 2)  # [H_kv, d, m]
    if h == n_heads and group > 1:
        return torch.bmm(qs.reshape(n_kv, group * n, d), keys).view(h, n, -1)
    if h != n_kv or group > 1:
        keys = keys[heads // group]
    return torch.bmm(qs, keys)


def exp_rows(
    q: torch.Tensor,
    k: torch.Tensor,
    rule: Rule,
    q0: int,
    t_q: int,
    heads: torch.Tensor,
    n_heads: int,
) -> tuple[torch.Tensor, torch.Tensor | None, int, int]:
    """Unnormalised rows ``q0 .. q0 + n`` of attention over keys ``[lo, hi)``.

    ``q`` ``[h, n, d]`` holds the queries of ``heads`` at those rows; ``k`` ``[H_kv, T_k, d]``
    every key. Returns ``E = exp(logits - m)`` float32 ``[h, n, hi - lo]`` (``m`` the row's
    largest logit, the sink logit included), the sink term ``exp(sink - m)`` ``[h, n, 1]`` or
    ``None``, and ``lo, hi``: attention is ``E / (E.sum(-1) + sink term)``, and keys outside
    ``[lo, hi)`` get exactly zero.
    """
    n, t_k = q.shape[1], k.shape[1]
    lo, hi = rule.visible(q0, q0 + n, t_q, t_k)
    logits = _logits(q * rule.scale, k[:, lo:hi], heads, n_heads)
    if rule.rel_bias is not None:
        idx = torch.arange(lo, hi)[None, :] - torch.arange(q0, q0 + n)[:, None] + t_q - 1
        logits += rule.rel_bias[heads.cpu()][:, idx].to(q.device)  # [h, n, hi - lo]
    if rule.softcap:
        logits = torch.tanh(logits / rule.softcap) * rule.softcap
    for a, b in rule.partial(q0, q0 + n, lo, hi, t_q, t_k):  # mask only where it bites
        ok = rule.allowed(q0, q0 + n, a, b, t_q, t_k, q.device)
        logits[..., a - lo : b - lo].masked_fill_(~ok, float("-inf"))
    # every query sees at least itself (or, bidirectional, every key): no row is all -inf
    top = logits.amax(-1, keepdim=True)
    extra = None
    if rule.sinks is not None:
        sink = rule.sinks.to(logits.device, torch.float32)[heads.cpu()].reshape(-1, 1, 1)
        top = torch.maximum(top, sink)
        extra = torch.exp(sink - top)
    return logits.sub_(top).exp_(), extra, lo, hi


def probs(
    q: torch.Tensor,
    k: torch.Tensor,
    rule: Rule,
    q0: int,
    t_q: int,
    heads: torch.Tensor,
    n_heads: int,
) -> tuple[torch.Tensor, int, int]:
    """Rows ``q0 .. q0 + n`` of attention, float32 ``[h, n, hi - lo]`` over keys ``[lo, hi)``
    (see :func:`exp_rows`)."""
    e, extra, lo, hi = exp_rows(q, k, rule, q0, t_q, heads, n_heads)
    denom = e.sum(-1, keepdim=True)
    return e.div_(denom if extra is None else denom + extra), lo, hi


def block_rows(n_heads: int, t_k: int) -> int:
    """Query rows per block so that ``n_heads`` heads' probabilities fit ``BLOCK_BYTES``."""
    return int(max(MIN_BLOCK_ROWS, BLOCK_BYTES // (4 * max(n_heads, 1) * max(t_k, 1))))


@dataclass(frozen=True)
class LayerFactors:
    """One layer: ``q`` ``[H, T_q, d]``, ``k`` ``[H_kv, T_k, d]`` and the :class:`Rule`."""

    q: torch.Tensor
    k: torch.Tensor
    rule: Rule

    def visible_rows(self, heads: torch.Tensor, q0: int, q1: int) -> tuple[torch.Tensor, int, int]:
        """Exact rows of the heads' attention over the keys ``[lo, hi)`` they can see, float32
        ``[len(heads), q1 - q0, hi - lo]``, and ``lo, hi``."""
        H, t_q, _ = self.q.shape
        q = self.q[heads.to(self.q.device), q0:q1]
        return probs(q, self.k, self.rule, q0, t_q, heads.to(self.q.device), H)

    def rows(self, heads: torch.Tensor, q0: int, q1: int) -> torch.Tensor:
        """float32 ``[len(heads), q1 - q0, T_k]``: exact rows of the heads' attention."""
        t_k = self.k.shape[1]
        p, lo, hi = self.visible_rows(heads, q0, q1)
        if lo == 0 and hi == t_k:
            return p
        out = torch.zeros((p.shape[0], q1 - q0, t_k), dtype=torch.float32, device=p.device)
        out[..., lo:hi] = p
        return out


def _pool(m: torch.Tensor, rows: np.ndarray, cols: np.ndarray, how: str) -> np.ndarray:
    """:func:`metrics.pool` of ``m``; equal blocks are pooled by torch where ``m`` lives."""
    rh, cw = np.unique(np.diff(rows)), np.unique(np.diff(cols))
    if how in metrics.POOLS and list(rh) == [1] and list(cw) == [1]:  # every position: as is
        return m.cpu().numpy()
    if len(rh) == 1 and len(cw) == 1 and (rh[0] > 1 or cw[0] > 1) and how in ("max", "mean"):
        f = torch.nn.functional.max_pool2d if how == "max" else torch.nn.functional.avg_pool2d
        size = (int(rh[0]), int(cw[0]))
        return f(m[None, None], size, stride=size)[0, 0].cpu().numpy()
    return metrics.pool(m.cpu().numpy(), rows, cols, how)


class Factors:
    """q and k of every layer of one run (float32 by default, on the CPU or a device).

    Parameters
    ----------
    layers : list of LayerFactors
        In layer order, all with the same number of query heads and positions.
    """

    def __init__(self, layers: list[LayerFactors]) -> None:
        if not layers:
            raise ValueError("Factors need at least one layer.")
        self.layers = layers
        H, t_q, _ = layers[0].q.shape
        self.shape = (len(layers), int(H), int(t_q), int(layers[0].k.shape[1]))

    @property
    def nbytes(self) -> int:
        """Bytes held by every q and k."""
        return sum(t.element_size() * t.nelement() for f in self.layers for t in (f.q, f.k))

    @property
    def device(self) -> torch.device:
        return self.layers[0].q.device

    def _chunks(self, row_edges: np.ndarray, n_heads: int) -> Iterator[tuple[int, int]]:
        """Consecutive bins grouped into blocks of about :func:`block_rows` query rows."""
        limit = block_rows(n_heads, self.shape[3])
        start = 0
        for i in range(1, len(row_edges)):
            if row_edges[i] - row_edges[start] > limit and i - 1 > start:
                yield start, i - 1
                start = i - 1
        yield start, len(row_edges) - 1

    def block(
        self,
        layer: int,
        head: int,
        row_edges: np.ndarray,
        col_edges: np.ndarray,
        norms: np.ndarray | None = None,
        pool: str = "max",
    ) -> np.ndarray:
        """float32 ``[len(row_edges) - 1, len(col_edges) - 1]``: the slice of ``(layer,
        head)`` (``-1``: mean of heads) over the given bins, pooled by ``pool``; with
        ``norms`` ``[H, T_k]`` the D3 norm-weighted share (rows normalised over every key)."""
        f = self.layers[layer]
        H = self.shape[1]
        heads = torch.arange(H) if head == -1 else torch.tensor([head])
        n = None
        if norms is not None:
            n = torch.as_tensor(np.asarray(norms, np.float32)[heads.numpy()], device=f.q.device)
        k0, k1 = int(col_edges[0]), int(col_edges[-1])
        parts = []
        n_cols = len(col_edges) - 1
        for a, b in self._chunks(row_edges, len(heads)):
            r0, r1 = int(row_edges[a]), int(row_edges[b])
            p, lo, hi = f.visible_rows(heads, r0, r1)  # [h, n, hi - lo]; zero elsewhere
            if n is not None:
                denom = torch.matmul(p, n[:, lo:hi, None])  # [h, n, 1]
                p = torch.where(denom > 0, p * n[:, None, lo:hi] / denom, torch.zeros_like(p))
            m = p.mean(0) if p.shape[0] > 1 else p[0]
            part = np.zeros((b - a, n_cols), dtype=np.float32)
            # only the column bins that meet [lo, hi) hold anything but zeros
            c_lo, c_hi = max(lo, k0), min(hi, k1)
            if c_lo < c_hi:
                ja = int(np.searchsorted(col_edges, c_lo, side="right")) - 1
                jb = int(np.searchsorted(col_edges, c_hi, side="left"))
                e0, e1 = int(col_edges[ja]), int(col_edges[jb])
                if e0 >= lo and e1 <= hi:
                    sub = m[:, e0 - lo : e1 - lo]
                else:  # bins reach past the visible keys: pad them with the zeros they hold
                    sub = torch.zeros((m.shape[0], e1 - e0), dtype=m.dtype, device=m.device)
                    sub[:, c_lo - e0 : c_hi - e0] = m[:, c_lo - lo : c_hi - lo]
                rows = row_edges[a : b + 1] - r0
                part[:, ja:jb] = _pool(sub, rows, col_edges[ja : jb + 1] - e0, pool)
            parts.append(part)
        return np.concatenate(parts, axis=0)

    def maps(self) -> np.ndarray:
        """float16 ``[L, H, T_q, T_k]``: every map, recomputed (mind the memory)."""
        L, H, t_q, t_k = self.shape
        out = np.empty(self.shape, dtype=np.float16)
        heads = torch.arange(H)
        step = block_rows(H, t_k)
        for layer in range(L):
            for q0 in range(0, t_q, step):
                q1 = min(t_q, q0 + step)
                out[layer, :, q0:q1] = self.layers[layer].rows(heads, q0, q1).cpu().numpy()
        return out

    def __repr__(self) -> str:
        L, H, _, t_k = self.shape
        return (
            f"Factors({L} layers x {H} heads, T={t_k}, {self.nbytes / 1e6:.1f} MB, "
            f"{self.layers[0].q.dtype}, device={self.device})"
        )
