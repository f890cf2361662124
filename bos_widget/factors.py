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

from . import metrics

BLOCK_BYTES = 16 * 2**20  # float32 probabilities held per block of query rows


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


def _expand(k: torch.Tensor, heads: torch.Tensor, n_heads: int) -> torch.Tensor:
    """Key heads ``[H_kv, T, d]`` -> one per query head in ``heads`` (grouped queries)."""
    group = n_heads // k.shape[0]
    return k[heads // group] if group > 1 or len(heads) != k.shape[0] else k


def probs(
    q: torch.Tensor,
    k: torch.Tensor,
    rule: Rule,
    q0: int,
    t_q: int,
    heads: torch.Tensor,
    n_heads: int,
) -> tuple[torch.Tensor, int, int]:
    """Rows ``q0 .. q0 + n`` of attention, float32 ``[h, n, hi - lo]`` over keys ``[lo, hi)``.

    ``q`` ``[h, n, d]`` holds the queries of ``heads`` at those rows; ``k`` ``[H_kv, T_k, d]``
    every key. Keys outside ``[lo, hi)`` get exactly zero attention.
    """
    n, t_k = q.shape[1], k.shape[1]
    lo, hi = rule.visible(q0, q0 + n, t_q, t_k)
    keys = _expand(k[:, lo:hi], heads, n_heads).float().transpose(1, 2)
    ok = rule.allowed(q0, q0 + n, lo, hi, t_q, t_k, q.device)
    bias = None
    if rule.rel_bias is not None:
        idx = torch.arange(lo, hi)[None, :] - torch.arange(q0, q0 + n)[:, None] + t_q - 1
        bias = rule.rel_bias[heads.cpu()][:, idx].to(q.device)  # [h, n, hi - lo]
    if ok is not None and not rule.softcap:  # the mask rides in the matmul's output add
        mask = torch.zeros(ok.shape, dtype=torch.float32, device=q.device)
        mask.masked_fill_(~ok, float("-inf"))
        bias = mask if bias is None else bias + mask
        ok = None
    if bias is not None:
        bias = bias.expand(q.shape[0], n, hi - lo)
        logits = torch.baddbmm(bias, q.float(), keys, alpha=rule.scale)
    else:
        logits = torch.bmm(q.float(), keys).mul_(rule.scale)
    if rule.softcap:
        logits = torch.tanh(logits / rule.softcap) * rule.softcap
    if ok is not None:
        logits.masked_fill_(~ok, float("-inf"))
    if rule.sinks is not None:
        extra = rule.sinks.to(logits.device, torch.float32)[heads].reshape(-1, 1, 1)
        top = torch.maximum(logits.amax(-1, keepdim=True), extra)
        e = torch.exp(logits - top)
        return e / (e.sum(-1, keepdim=True) + torch.exp(extra - top)), lo, hi
    # every query sees at least itself (or, bidirectional, every key): no empty row
    return torch.softmax(logits, dim=-1), lo, hi


def block_rows(n_heads: int, t_k: int) -> int:
    """Query rows per block so that ``n_heads`` heads' probabilities fit ``BLOCK_BYTES``."""
    return int(max(16, BLOCK_BYTES // (4 * max(n_heads, 1) * max(t_k, 1))))


@dataclass(frozen=True)
class LayerFactors:
    """One layer: ``q`` ``[H, T_q, d]``, ``k`` ``[H_kv, T_k, d]`` and the :class:`Rule`."""

    q: torch.Tensor
    k: torch.Tensor
    rule: Rule

    def rows(self, heads: torch.Tensor, q0: int, q1: int) -> torch.Tensor:
        """float32 ``[len(heads), q1 - q0, T_k]``: exact rows of the heads' attention."""
        H, t_q, _ = self.q.shape
        t_k = self.k.shape[1]
        q = self.q[heads.to(self.q.device), q0:q1]
        p, lo, hi = probs(q, self.k, self.rule, q0, t_q, heads.to(self.q.device), H)
        if lo == 0 and hi == t_k:
            return p
        out = torch.zeros((p.shape[0], q1 - q0, t_k), dtype=torch.float32, device=p.device)
        out[..., lo:hi] = p
        return out


def _pool(m: torch.Tensor, rows: np.ndarray, cols: np.ndarray, how: str) -> np.ndarray:
    """:func:`metrics.pool` of ``m``; equal blocks are pooled by torch where ``m`` lives."""
    rh, cw = np.unique(np.diff(rows)), np.unique(np.diff(cols))
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
        for a, b in self._chunks(row_edges, len(heads)):
            r0, r1 = int(row_edges[a]), int(row_edges[b])
            p = f.rows(heads, r0, r1)  # [h, n, T_k]
            if n is not None:
                denom = torch.matmul(p, n[:, :, None])  # [h, n, 1]
                p = torch.where(denom > 0, p * n[:, None, :] / denom, torch.zeros_like(p))
            m = (p.mean(0) if p.shape[0] > 1 else p[0])[:, k0:k1]
            rows = row_edges[a : b + 1] - r0
            parts.append(_pool(m, rows, col_edges - k0, pool))
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
