"""Analysis layer (explain, helper): one registered attention function that measures and edits.

transformers 5 sends every attention layer of a model that follows its attention interface
(Llama, Gemma, Mistral, Qwen, BERT, ...) through ``ALL_ATTENTION_FUNCTIONS[name]``. Inside
``with probe(model) as p:`` the model runs :func:`_attention`, registered under
``bos_widget_probe`` with eager's mask builder (additive 4D masks with sliding windows and
padding), and its own implementation is restored on exit, also when the forward raises.

:func:`_attention` computes attention as eager does (float32 softmax; softcap and learned sink
logits where a family passes them). It sees ``query`` and ``key`` exactly as attention uses
them (after RoPE and QK-norm), so it can

* record per-layer statistics when ``p.measure`` is set (:class:`LayerStats`), and
* apply the edits of SCIENCE.md's D8 per text: hide key ``p`` from the other queries
  (``mask``), keep attention and replace what key ``p`` hands out by zero or by the mean value
  of the other keys (``remove_zero`` / ``remove_mean``: ``p``'s own stream and keys stay
  intact), or zero ``v_p`` for every query including ``p`` itself (``zero_value``: this also
  changes ``p``'s later keys, so attention is *not* kept).
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from ..capture.hooks import attention_implementation, find_attention_sites, ov_weights

NAME = "bos_widget_probe"
EDITS = ("mask", "remove_zero", "remove_mean", "zero_value")
_ACTIVE: contextvars.ContextVar[Probe | None] = contextvars.ContextVar(NAME, default=None)


@dataclass(frozen=True)
class Edit:
    """One D8 edit: ``kind`` (one of ``EDITS``) at key ``positions[b]`` of each text ``b``."""

    kind: str
    positions: tuple[int, ...]

    def __post_init__(self) -> None:
        if self.kind not in EDITS:
            raise ValueError(f"Unknown edit {self.kind!r}; use one of {EDITS}.")


@dataclass
class LayerStats:
    """What one layer's attention did in a measured pass (float32 CPU tensors).

    ``A`` ``[B, H, T, T]``; ``fnorm`` ``||v_k W_O^h||`` ``[B, H, T]``; ``vnorm``/``knorm``
    ``[B, H, T]`` (kv heads expanded, keys as attention uses them); ``cos0`` / ``cos_other``
    ``[B, H]``: mean over queries ``t >= 1`` of ``cos(q_t, k_0)`` and of the mean cosine to the
    other keys it may see; ``margin`` ``[B, H]``: mean over ``t >= 1`` of the logit of key 0
    minus the largest logit among the other keys; ``u_dir`` ``[B, P, hidden]``: mean
    direction of what key ``p`` hands out, ``sum_h A_h[t, p] f_h(x_p)``, over ``t > p``, for
    the probe's ``out_positions``; ``u_share`` ``[B, P]``: mean ``||u_t|| / ||output_t||``.
    """

    A: torch.Tensor
    fnorm: torch.Tensor
    vnorm: torch.Tensor
    knorm: torch.Tensor
    cos0: torch.Tensor
    cos_other: torch.Tensor
    margin: torch.Tensor
    u_dir: torch.Tensor
    u_share: torch.Tensor


@dataclass
class Probe:
    """State of one ``with probe(model)`` block; set ``measure``/``edit`` between passes."""

    ov: dict[int, torch.Tensor]  # id(attention module) -> W_O per head [H, d, hidden]
    layer_of: dict[int, int]
    causal: bool
    measure: bool = False
    weights_only: bool = False
    edit: Edit | None = None
    out_positions: tuple[int, ...] = (0,)
    layers: dict[int, Any] = field(default_factory=dict)  # LayerStats, or weights only

    def reset(
        self, measure: bool = False, edit: Edit | None = None, weights_only: bool = False
    ) -> None:
        """Next pass: ``measure`` every statistic, or only the weights; apply ``edit``."""
        self.measure, self.edit, self.layers = measure or weights_only, edit, {}
        self.weights_only = weights_only


def _expand(x: torch.Tensor, n_heads: int) -> torch.Tensor:
    return x.repeat_interleave(n_heads // x.shape[1], dim=1) if x.shape[1] != n_heads else x


def _cos(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    a = a / a.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    b = b / b.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    return a @ b.transpose(-1, -2)


def _attention(
    module: nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    scaling: float | None = None,
    dropout: float = 0.0,
    **kwargs: Any,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Eager attention in float32, with the active probe's measurements and edits."""
    probe = _ACTIVE.get()
    H, T = query.shape[1], query.shape[2]
    q = query.float()
    k, v = _expand(key.float(), H), _expand(value.float(), H)
    scale = scaling if scaling is not None else q.shape[-1] ** -0.5
    logits = q @ k.transpose(-1, -2) * scale
    softcap = kwargs.get("softcap")
    if softcap:
        logits = torch.tanh(logits / softcap) * softcap
    if attention_mask is not None:
        logits = logits + attention_mask[..., : k.shape[-2]].float()
    edit = probe.edit if probe is not None else None
    B, Tk = logits.shape[0], logits.shape[-1]
    rows = torch.arange(T, device=q.device)
    if edit is not None:
        pos = torch.tensor(edit.positions, device=q.device)[:, None, None, None]  # [B,1,1,1]
        hit = (torch.arange(Tk, device=q.device) == pos) & (rows[:, None] != pos)  # [B,1,T,Tk]
        if edit.kind == "mask":
            logits = logits.masked_fill(hit, torch.finfo(logits.dtype).min)
        elif edit.kind == "zero_value":
            v = v.masked_fill((torch.arange(Tk, device=q.device)[:, None] == pos), 0.0)
    sinks = kwargs.get("s_aux")
    if sinks is not None:  # learned sink logit per head: in the denominator, not a key
        extra = sinks.float().reshape(1, -1, 1, 1).expand(B, H, T, 1)
        weights = torch.softmax(torch.cat([logits, extra], dim=-1), dim=-1)[..., :-1]
    else:
        weights = torch.softmax(logits, dim=-1)
    out = weights @ v  # [B, H, T, d]
    if edit is not None and edit.kind in ("remove_zero", "remove_mean"):
        idx = torch.tensor(edit.positions, device=q.device)
        vp = v[torch.arange(B), :, idx]  # [B, H, d]
        if edit.kind == "remove_mean":
            others = torch.arange(Tk, device=q.device)[None, :] != idx[:, None]  # [B, Tk]
            mean = (v * others[:, None, :, None]).sum(2) / others.sum(1)[:, None, None]
            vp = vp - mean
        a_p = weights.gather(-1, idx[:, None, None, None].expand(B, H, T, 1))  # [B,H,T,1]
        a_p = a_p.masked_fill(rows[None, None, :, None] == idx[:, None, None, None], 0.0)
        out = out - a_p * vp[:, :, None, :]
    if probe is not None and probe.weights_only:
        probe.layers[probe.layer_of[id(module)]] = weights.detach().cpu()  # type: ignore[assignment]
    elif probe is not None and probe.measure:
        _measure(probe, module, q, k, v, logits, weights, out)
    return out.to(query.dtype).transpose(1, 2).contiguous(), weights.to(query.dtype)


def _measure(
    probe: Probe,
    module: nn.Module,
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    logits: torch.Tensor,
    weights: torch.Tensor,
    out: torch.Tensor,
) -> None:
    T = q.shape[2]
    ov = probe.ov[id(module)].float().to(q.device)  # [H, d, hidden]
    f = torch.einsum("bhtd,hde->bhte", v, ov)  # f(x_k) per head [B, H, T, hidden]
    total = torch.einsum("bhtd,hde->bte", out, ov)  # layer output minus bias [B, T, hidden]
    allowed = logits > torch.finfo(logits.dtype).min / 2  # [B, H, T, T]
    cos = _cos(q, k)  # [B, H, T, T]
    other = allowed.clone()
    other[..., 0] = False
    n_other = other.sum(-1).clamp_min(1)
    cos_other = (cos * other).sum(-1) / n_other
    best_other = logits.masked_fill(~other, float("-inf")).amax(-1)
    u_dirs, u_shares = [], []
    for p in probe.out_positions:
        u = torch.einsum("bht,bhe->bte", weights[..., p], f[:, :, p])  # [B, T, hidden]
        later = slice(p + 1, T) if probe.causal else None
        sel = u[:, later] if later else torch.cat([u[:, :p], u[:, p + 1 :]], 1)
        ref = total[:, later] if later else torch.cat([total[:, :p], total[:, p + 1 :]], 1)
        unit = sel / sel.norm(dim=-1, keepdim=True).clamp_min(1e-12)
        u_dirs.append(unit.mean(1))
        u_shares.append((sel.norm(dim=-1) / ref.norm(dim=-1).clamp_min(1e-12)).mean(1))
    probe.layers[probe.layer_of[id(module)]] = LayerStats(
        A=weights.detach().cpu(),
        fnorm=f.norm(dim=-1).cpu(),
        vnorm=v.norm(dim=-1).cpu(),
        knorm=k.norm(dim=-1).cpu(),
        cos0=cos[:, :, 1:, 0].mean(-1).cpu(),
        cos_other=cos_other[:, :, 1:].mean(-1).cpu(),
        margin=(logits[:, :, 1:, 0] - best_other[:, :, 1:]).mean(-1).cpu(),
        u_dir=torch.stack(u_dirs, 1).cpu(),
        u_share=torch.stack(u_shares, 1).cpu(),
    )


def _register() -> None:
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface, eager_mask

    AttentionInterface.register(NAME, _attention)
    AttentionMaskInterface.register(NAME, eager_mask)


@contextmanager
def probe(model: Any, causal: bool) -> Iterator[Probe]:
    """Run ``model`` through the probe inside the block; restore its attention afterwards.

    Raises
    ------
    TypeError
        When the model cannot switch attention implementation (its attention does not go
        through transformers' attention interface), naming its class.
    """
    sites = [s for s in find_attention_sites(model) if s.group == "self"]
    heads = int(getattr(model.config, "num_attention_heads", 0) or 0)
    state = Probe(
        ov={id(s.module): ov_weights(s, heads or _heads_of(s)) for s in sites},
        layer_of={id(s.module): i for i, s in enumerate(sites)},
        causal=causal,
    )
    _register()

    def refused(exc: Exception) -> Exception:
        return TypeError(
            f"{type(model).__name__} does not route attention through transformers' "
            "AttentionInterface, so explain() cannot measure it; capture() and sink_report() "
            f"still work for this model. ({exc})"
        )

    with attention_implementation(model, NAME, refused):
        token = _ACTIVE.set(state)
        try:
            yield state
        finally:
            _ACTIVE.reset(token)


def _heads_of(site: Any) -> int:
    for name in ("num_heads", "num_attention_heads", "n_heads"):
        value = getattr(site.module, name, None) or getattr(
            getattr(site.module, "config", None), name, None
        )
        if isinstance(value, int) and value > 0:
            return value
    raise TypeError(f"Cannot tell how many heads {site.name} has.")
