"""Capture layer: record q and k inside the model's own attention, and measure the sinks.

transformers 5 sends every attention layer of a model that follows its attention interface
through ``ALL_ATTENTION_FUNCTIONS[config._attn_implementation]``. Inside
``with recording(model, ...) as rec:`` the model runs :func:`_attention`, registered under
``bos_widget_record`` with the mask builder of the implementation the model had; it calls
that implementation for the layer's output (sdpa stays sdpa; an eager model runs its own
module's ``eager_attention_forward``), so the forward is the model's own, and it

* copies ``q`` and ``k`` exactly as attention used them (after RoPE and QK-norm) into
  :class:`~bos_widget.capture.factors.LayerFactors`, with the scale, causal mask, sliding window,
  softcap, T5's relative position bias and learned sink logits that define the map;
* checks the rebuilt mask against the mask the model built, on a few rows: a layer whose
  attention cannot be rebuilt from q and k (an additive bias hidden in the mask, say) marks
  the recording failed, and capture falls back to eager attention;
* measures D1 sink scores of every key and the D3 norm-weighted share of key 0 blockwise
  (O(T x block) memory per layer), and the value, key and ``||v W_O^h||`` norms; in layers
  with learned sink logits (gpt-oss) also ``p_sink``, the softmax mass of the sink logit per
  head and query (rows of ``A`` sum to ``1 - p_sink``);
* optionally writes every map into a float16 store (short inputs only).

The model's implementation is restored on exit, also when the forward raises.
"""

from __future__ import annotations

import contextvars
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch
from torch import nn

from ..analysis import metrics
from .factors import LayerFactors, Rule, block_rows, exp_rows
from .hooks import (
    AttentionSite,
    attention_implementation,
    current_implementation,
    ov_weights,
    per_query_head,
)

NAME = "bos_widget_record"
_ACTIVE: contextvars.ContextVar[Recording | None] = contextvars.ContextVar(NAME, default=None)


@dataclass
class GroupRecord:
    """What one group (``self``, ``decoder``, ``cross``) of layers left, layer by layer."""

    n_layers: int
    factors: dict[int, LayerFactors] = field(default_factory=dict)
    sink_scores: dict[int, np.ndarray] = field(default_factory=dict)  # [H, T_k]
    norm_first: dict[int, np.ndarray] = field(default_factory=dict)  # [H]
    norm_share0: dict[int, np.ndarray] = field(default_factory=dict)  # [H]
    value_norms: dict[int, np.ndarray] = field(default_factory=dict)  # [H, T_k]
    key_norms: dict[int, np.ndarray] = field(default_factory=dict)
    output_norms: dict[int, np.ndarray] = field(default_factory=dict)
    sink_slot: dict[int, np.ndarray] = field(default_factory=dict)  # [H, T_q], sink layers only
    maps: np.ndarray | None = None  # float16 [L, H, T_q, T_k] when kept

    def stack(self, name: str) -> np.ndarray | None:
        got = getattr(self, name)
        if len(got) != self.n_layers:
            return None
        return np.stack([got[i] for i in range(self.n_layers)])


@dataclass
class Recording:
    """State of one ``with recording(model)`` block."""

    sites: dict[int, AttentionSite]
    inner: Any  # the model's own attention function
    device: torch.device | None  # where factors are kept (None: where they were produced)
    dtype: torch.dtype
    keep_maps: bool
    progress: Any = None
    groups: dict[str, GroupRecord] = field(default_factory=dict)
    failed: str = ""

    fuse: bool = False  # compute the layer's output in the measuring pass (CPU, sdpa/eager)

    def record(
        self, module: nn.Module, query: Any, key: Any, value: Any, mask: Any, **kw: Any
    ) -> torch.Tensor | None:
        """Record one call; with ``fuse``, return the attention output ``[1, T, H, d]``."""
        site = self.sites.get(id(module))
        if site is None or self.failed:
            return None
        rule, why = _rule(module, query, key, mask, kw)
        if rule is None:
            self.failed = f"{site.name}: {why}"
            return None
        group = self.groups.setdefault(site.group, GroupRecord(_count(self.sites, site.group)))
        q, k = query[0].detach(), key[0].detach()
        where = self.device or q.device
        group.factors[site.layer] = LayerFactors(
            q.to(where, self.dtype, copy=True), k.to(where, self.dtype, copy=True), rule
        )
        out = _measure(
            group,
            site,
            q.float(),
            k.float(),
            value[0].detach().float(),
            rule,
            self.keep_maps,
            fuse=self.fuse and float(kw.get("dropout") or 0.0) == 0.0,
        )
        if self.progress is not None:
            self.progress.update(1)
        return None if out is None else out.transpose(0, 1)[None].to(query.dtype).contiguous()


def _count(sites: dict[int, AttentionSite], group: str) -> int:
    return len({id(s) for s in sites.values() if s.group == group})


def _rule(module: nn.Module, query: Any, key: Any, mask: Any, kw: dict) -> tuple[Rule | None, str]:
    """The :class:`Rule` of this call, checked against the model's mask; or why it can't be."""
    t_q, t_k, d = query.shape[2], key.shape[2], query.shape[3]
    if query.shape[0] != 1:
        return None, "batches of more than one text are not recorded"
    causal = kw.get("is_causal")
    if causal is None:
        causal = bool(getattr(module, "is_causal", True))
    rel = None
    bias = kw.get("position_bias")
    if bias is not None:
        rel = _toeplitz(bias, t_q, t_k)
        if rel is None:
            return None, "its position bias is not a function of k - q"
    sinks = kw.get("s_aux")
    rule = Rule(
        scale=float(kw["scaling"]) if kw.get("scaling") is not None else d**-0.5,
        causal=bool(causal) and t_q > 1,
        window=int(kw["sliding_window"]) if kw.get("sliding_window") else None,
        softcap=float(kw["softcap"]) if kw.get("softcap") else None,
        sinks=None if sinks is None else sinks.detach().float().cpu(),
        rel_bias=rel,
    )
    if mask is not None:
        if not isinstance(mask, torch.Tensor) or mask.dim() != 4:
            return None, f"its mask is a {type(mask).__name__}, not a 4D tensor"
        rule = _fit_mask(rule, mask, t_q, t_k)
        if rule is None:
            return None, "its mask is not causal / sliding-window / full as far as can be told"
    return rule, ""


def _toeplitz(bias: torch.Tensor, t_q: int, t_k: int) -> torch.Tensor | None:
    """T5's bias ``[1, H, T_q, T_k]`` as ``[H, T_q + T_k - 1]`` indexed by ``k - q + T_q - 1``,
    or ``None`` when it is not a function of ``k - q`` (checked on a few rows)."""
    b = bias[0].detach().float()
    if b.shape[-2:] != (t_q, t_k):
        return None
    rel = torch.cat([b[:, 1:, 0].flip(-1), b[:, 0, :]], dim=-1)  # k - q = -(t_q-1) .. t_k-1
    for r in {0, t_q // 2, t_q - 1}:
        idx = torch.arange(t_k) - r + t_q - 1
        if not torch.equal(rel[:, idx], b[:, r]):
            return None
    return rel.cpu()


def _fit_mask(rule: Rule, mask: torch.Tensor, t_q: int, t_k: int) -> Rule | None:
    """``rule`` if it keeps the same keys as ``mask`` on a few rows; a causal model whose mask
    says otherwise gets one more try as bidirectional. ``None`` when neither matches or the
    mask adds anything but 0 / -inf."""
    rows = _sample_rows(rule, t_q)
    m = mask[0, 0, rows, :t_k].cpu()  # a few rows only: the whole mask is O(T^2)
    if m.dtype == torch.bool:
        keep = m
    else:
        low = m < torch.finfo(m.dtype).min / 2
        if not bool(((m == 0) | low).all()):
            return None  # an additive bias rides in the mask
        keep = ~low
    for cand in (rule, replace(rule, causal=not rule.causal)):
        ok = [cand.allowed(int(r), int(r) + 1, 0, t_k, t_q, t_k, "cpu") for r in rows]
        ok_rows = torch.ones_like(keep) if ok[0] is None else torch.cat(ok)  # None: all keys
        if torch.equal(ok_rows, keep):
            return cand
    return None


def _sample_rows(rule: Rule, t_q: int) -> torch.Tensor:
    rows = {0, 1, t_q // 3, t_q // 2, t_q - 1}
    if rule.window:
        rows |= {rule.window - 1, rule.window, rule.window + 1}
    return torch.tensor(sorted(r for r in rows if 0 <= r < t_q))


def _measure(
    group: GroupRecord,
    site: AttentionSite,
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    rule: Rule,
    keep_maps: bool,
    fuse: bool = False,
) -> torch.Tensor | None:
    """D1 of every key, D3 share of key 0 and the per-token norms of one layer, blockwise;
    with ``fuse`` also the layer's output ``[H, T_q, d]`` (``A v``, eager's math). Where the
    rule has learned sink logits, ``p_sink = exp(s - m) / (sum_j exp(l_j - m) + exp(s - m))``
    ``[H, T_q]`` goes to ``group.sink_slot``."""
    H, t_q, _ = q.shape
    t_k = k.shape[1]
    layer = site.layer
    heads = torch.arange(H, device=q.device)
    vh = per_query_head(v, H, dim=0)  # [H, T_k, d]
    group.value_norms[layer] = vh.norm(dim=-1).cpu().numpy()
    group.key_norms[layer] = per_query_head(k, H, dim=0).norm(dim=-1).cpu().numpy()
    fnorm = None
    if site.o_proj is not None:
        ov = ov_weights(site, H).float().to(q.device)  # [H, d, hidden]
        gram = ov @ ov.transpose(1, 2)
        sq = torch.einsum("htd,hde,hte->ht", vh, gram, vh)
        fnorm = sq.clamp_min(0).sqrt()  # [H, T_k]
        group.output_norms[layer] = fnorm.cpu().numpy()
    if keep_maps and group.maps is None:
        group.maps = np.zeros((group.n_layers, H, t_q, t_k), dtype=np.float16)
    # one matmul per block gives the output's numerator, sum_j E_j ||f(x_j)|| (the D3
    # denominator) and the row sum: E @ [v | ||f(x)|| | 1]
    d = v.shape[-1]
    ones = torch.ones((H, t_k, 1), dtype=torch.float32, device=q.device)
    ext = [vh] if fuse else []
    ext += [fnorm[..., None]] if fnorm is not None else []
    vext = torch.cat([*ext, ones], dim=-1)  # [H, T_k, (d) + (1) + 1]
    out = torch.empty((H, t_q, d), dtype=torch.float32, device=q.device) if fuse else None
    colsum = torch.zeros((H, 1, t_k), dtype=torch.float64, device=q.device)
    first = torch.zeros(H, dtype=torch.float64, device=q.device)
    later = torch.zeros(H, dtype=torch.float64, device=q.device)
    slot = None if rule.sinks is None else np.zeros((H, t_q), dtype=np.float32)
    step = block_rows(H, t_k)
    for q0 in range(0, t_q, step):
        q1 = min(t_q, q0 + step)
        e, extra, lo, hi = exp_rows(q[:, q0:q1], k, rule, q0, t_q, heads, H)  # [H, n, hi-lo]
        num = torch.bmm(e, vext[:, lo:hi])  # [H, n, width]
        denom = num[..., -1:] if extra is None else num[..., -1:] + extra  # [H, n, 1]
        inv = denom.reciprocal()
        colsum[..., lo:hi] += torch.bmm(inv.transpose(1, 2), e)  # D1: sum of A over rows
        if slot is not None and extra is not None:
            slot[:, q0:q1] = (extra * inv)[..., 0].cpu().numpy()  # p_sink, [H, n]
        if out is not None:
            torch.mul(num[..., :d], inv, out=out[:, q0:q1])
        if group.maps is not None:
            group.maps[layer, :, q0:q1, lo:hi] = (e * inv).cpu().numpy()
        if fnorm is not None and lo == 0:
            weighted = num[..., -2]  # sum_j E_j ||f(x_j)||, [H, n]
            share = torch.where(weighted > 0, e[..., 0] * fnorm[:, :1] / weighted, 0.0)
            first += share.sum(1)
            later += share[:, 1 if q0 == 0 else 0 :].sum(1)
    colsum = colsum[:, 0]
    if slot is not None:
        group.sink_slot[layer] = slot
    counts = metrics.query_counts(t_q, t_k, rule.causal)
    group.sink_scores[layer] = (colsum.cpu().numpy() / counts).astype(np.float32)
    if fnorm is not None:
        group.norm_first[layer] = (first / t_q).cpu().numpy().astype(np.float32)
        group.norm_share0[layer] = (later / max(t_q - 1, 1)).cpu().numpy().astype(np.float32)
    return out


def _attention(
    module: nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    scaling: float | None = None,
    dropout: float = 0.0,
    **kwargs: Any,
) -> Any:
    """The model's own attention for the output; q and k recorded on the way."""
    rec = _ACTIVE.get()
    fused = rec is not None and rec.fuse and query.device.type == "cpu"
    if fused:
        assert rec is not None
        got = rec.record(
            module, query, key, value, attention_mask, scaling=scaling, dropout=dropout, **kwargs
        )
        if got is not None:
            return got, None
    inner = rec.inner if rec is not None else _own_eager(module)
    out = inner(
        module, query, key, value, attention_mask, scaling=scaling, dropout=dropout, **kwargs
    )
    if rec is not None and not fused:
        rec.record(module, query, key, value, attention_mask, scaling=scaling, **kwargs)
    return out


def _own_eager(module: nn.Module) -> Any:
    """The module's own ``eager_attention_forward`` (its model file's), or sdpa's function."""
    fn = getattr(sys.modules.get(type(module).__module__), "eager_attention_forward", None)
    if fn is None:
        from transformers.integrations.sdpa_attention import sdpa_attention_forward

        fn = sdpa_attention_forward
    return fn


def _inner(before: str, sites: dict[int, AttentionSite]) -> tuple[Any, str]:
    """The attention function the model had, and the mask builder that goes with it."""
    from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS

    if before != "eager" and before in ALL_ATTENTION_FUNCTIONS:
        return ALL_ATTENTION_FUNCTIONS[before], before
    module = next(iter(sites.values())).module
    return _own_eager(module), "eager"


@contextmanager
def recording(
    model: Any,
    sites: list[AttentionSite],
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
    keep_maps: bool = False,
    progress: Any = None,
) -> Iterator[Recording]:
    """Run ``model`` through :func:`_attention` inside the block; restore it afterwards.

    Raises
    ------
    TypeError
        When the model cannot switch attention implementation (it does not route attention
        through transformers' attention interface); capture then uses eager attention.
    """
    from transformers import AttentionInterface
    from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS, AttentionMaskInterface

    # the module attention is called with may sit inside the site (T5's SelfAttention)
    by_id = {id(sub): s for s in sites for sub in s.module.modules()}
    before = current_implementation(model)
    inner, mask_kind = _inner(before, by_id)
    AttentionInterface.register(NAME, _attention)
    mask_fn = ALL_MASK_ATTENTION_FUNCTIONS.get(mask_kind, None)
    if mask_fn is not None:
        AttentionMaskInterface.register(NAME, mask_fn)
    rec = Recording(
        by_id,
        inner,
        torch.device(device) if device is not None else None,
        dtype,
        keep_maps,
        progress,
    )
    # On the CPU the measuring pass computes each layer's output too (eager's math in float32,
    # which is what sdpa's CPU kernel computes), so q kᵀ is computed once, not twice; on a GPU
    # the model's own kernel (flash, sdpa) runs and the measuring pass follows it.
    rec.fuse = mask_kind in ("sdpa", "eager")

    def refused(exc: Exception) -> Exception:
        return TypeError(
            f"{type(model).__name__} does not route attention through transformers' "
            f"AttentionInterface ({exc})."
        )

    with attention_implementation(model, NAME, refused):
        token = _ACTIVE.set(rec)
        try:
            yield rec
        finally:
            _ACTIVE.reset(token)
