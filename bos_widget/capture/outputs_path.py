"""Capture layer: attention from the model's own outputs, for families capture cannot hook.

transformers lists the attention modules of each model class in a per-class recording table;
capture finds its sites through that table. Families whose code predates it (GPT-Neo, Falcon,
MPT, DeBERTa-v2, Longformer, MPNet, ...) have no entry, yet ``output_attentions=True`` still
returns every layer's weights. This path runs the model once with ``output_attentions=True``
and ``output_hidden_states=True`` and keeps:

* every map, float16 ``[L, H, T, T]`` (Longformer's local-window weights ``[H, T, w + 1]``
  are placed on their keys: column ``j`` of query ``i`` is key ``i + j - w // 2``);
* hidden-state norms from ``hidden_states`` (transformers' last entry follows the final norm
  where the model has one);
* value norms and ``||v W_O^h||`` (D3) where the module layout is known (``VALUE_LAYOUT``):
  a scoped forward hook on each layer's value projection, and the output projection's weight.

What is missing is said in ``run.meta.path_note``. Models whose outputs hold no attention
(state-space models) are still refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from ..analysis import metrics
from .hooks import CaptureError, ScopedHooks, attention_implementation


@dataclass(frozen=True)
class _Layout:
    value: str  # name suffix of each layer's value projection (an nn.Linear)
    output: str  # name suffix of each layer's output projection
    fused: int = 0  # value is the third of three equal parts of a fused q|k|v projection
    seq_first: bool = False  # the projection sees [T, batch, D] (Longformer), not [batch, T, D]


# model_type -> where the values and the output projection are
VALUE_LAYOUT = {
    "gpt_neo": _Layout("attn.attention.v_proj", "attn.attention.out_proj"),
    "deberta-v2": _Layout("attention.self.value_proj", "attention.output.dense"),
    "longformer": _Layout("attention.self.value", "attention.output.dense", seq_first=True),
    "mpnet": _Layout("attention.attn.v", "attention.attn.o"),
    "mpt": _Layout("attn.Wqkv", "attn.out_proj", fused=3),
}


@dataclass
class OutputsCapture:
    """What the outputs path produced for one input."""

    attention: np.ndarray  # float16 [L, H, T, T]
    hidden: tuple[torch.Tensor, ...] | None
    value_norms: np.ndarray | None  # float32 [L, H, T]
    output_norms: np.ndarray | None  # float32 [L, H, T]
    note: str


def _full(att: torch.Tensor, T: int, window: int | None) -> torch.Tensor:
    """``[H, T, T]`` float32 from one layer's returned weights ``[H, T, X]``."""
    a = att.detach().to("cpu", torch.float32)
    if a.shape[-1] == T:
        return a
    if window is None or a.shape[-1] != window + 1:
        raise TypeError(
            f"the model returned attention of shape {tuple(a.shape)} for {T} tokens, which is "
            "neither [H, T, T] nor a local window bos_widget knows how to place"
        )
    half = window // 2
    H = a.shape[0]
    q = torch.arange(T)[:, None].expand(T, window + 1)
    j = torch.arange(window + 1)[None, :].expand(T, window + 1)
    k = q + j - half
    ok = (k >= 0) & (k < T)
    full = torch.zeros(H, T, T)
    full[:, q[ok], k[ok]] = a[:, q[ok], j[ok]]
    return full


def _windows(model: Any, n_layers: int) -> list[int | None]:
    w = getattr(model.config, "attention_window", None)
    if isinstance(w, int):
        return [w] * n_layers
    if isinstance(w, list | tuple) and len(w) == n_layers:
        return [int(x) for x in w]
    return [None] * n_layers


def _layer_modules(model: nn.Module, suffix: str) -> list[nn.Module]:
    return [m for name, m in model.named_modules() if name.endswith("." + suffix)]


class _ValueHooks(ScopedHooks):
    """Scoped hooks copying each layer's value vectors ``[T, H * d]`` (removed on exit)."""

    def __init__(self, model: nn.Module, layout: _Layout | None, n_heads: int) -> None:
        super().__init__()
        self.values: list[torch.Tensor] = []
        self.heads = n_heads
        self.layout = layout
        self.modules = _layer_modules(model, layout.value) if layout else []

    def install(self) -> None:
        fused = self.layout.fused if self.layout else 0
        seq_first = self.layout.seq_first if self.layout else False

        def keep(_m: nn.Module, _inp: Any, out: torch.Tensor) -> None:
            v = (out[:, 0] if seq_first else out[0]).detach().to("cpu", torch.float32)
            if fused:
                v = v[..., 2 * v.shape[-1] // fused :]
            self.values.append(v)

        for m in self.modules:
            self.forward(m, keep)


def _norms(model: nn.Module, hooks: _ValueHooks, L: int, H: int, T: int) -> tuple[Any, Any]:
    if hooks.layout is None or len(hooks.values) != L:
        return None, None
    outs = _layer_modules(model, hooks.layout.output)
    if len(outs) != L:
        return None, None
    values = np.zeros((L, H, T), np.float32)
    wo = np.zeros((L, H, T), np.float32)
    for layer, (v, o) in enumerate(zip(hooks.values, outs, strict=True)):
        if v.shape[0] < T or v.shape[-1] % H:
            return None, None
        v = v[:T]  # Longformer pads the input to a multiple of its window
        d = v.shape[-1] // H
        vh = v.reshape(T, H, d)
        values[layer] = vh.norm(dim=-1).T.numpy()
        weight = o.weight if isinstance(o, nn.Linear) else None
        if weight is None:
            return None, None
        w = weight.detach().to("cpu", torch.float32)  # [D, H * d]
        for h in range(H):
            f = vh[:, h, :] @ w[:, h * d : (h + 1) * d].T
            wo[layer, h] = f.norm(dim=-1).numpy()
    return values, wo


def _check_causal(model: Any, attention: np.ndarray, before: str) -> None:
    """A model that generates text must return causal weights; Falcon loaded with sdpa in
    transformers 5 does not (its weight path adds the boolean sdpa mask as numbers, and the
    forward then lets earlier positions see later ones)."""
    can = getattr(model, "can_generate", None)
    if not (callable(can) and can()):
        return
    future = metrics.future_weight(attention)  # within 1e-3 of causal: float16 maps
    if future > 1e-3:
        raise CaptureError(
            f"{type(model).__name__} generates text, but the attention its outputs return puts "
            f"weight up to {future:.2f} on later tokens: loaded with {before!r} attention, its "
            "output_attentions path does not apply the causal mask (and changes the forward). "
            "Load it with attn_implementation='eager' and capture again."
        )


def capture_outputs(model: Any, inputs: dict[str, Any], T: int) -> OutputsCapture | None:
    """Run ``model(**inputs)`` with ``output_attentions=True``; ``None`` when its outputs hold
    no attention (the caller then refuses the model). Raises ``CaptureError`` when a text
    generator returns non-causal weights."""
    n_heads = int(getattr(model.config, "num_attention_heads", 0) or 0)
    n_heads = n_heads or int(getattr(model.config, "n_heads", 0) or 0)
    layout = VALUE_LAYOUT.get(str(getattr(model.config, "model_type", "")))
    try:  # eager where the model can switch (some families refuse once loaded)
        with (
            attention_implementation(model, "eager") as before,
            _ValueHooks(model, layout, n_heads) as hooks,
            torch.inference_mode(),
        ):
            out = model(**inputs, output_attentions=True, output_hidden_states=True)
    except TypeError:
        return None  # the forward takes no output_attentions
    atts = getattr(out, "attentions", None)
    if not atts or any(a is None for a in atts):
        return None
    windows = _windows(model, len(atts))
    maps = [_full(a[0], T, w).to(torch.float16).numpy() for a, w in zip(atts, windows, strict=True)]
    attention = np.stack(maps)
    _check_causal(model, attention, before)
    L, H = attention.shape[:2]
    values, wo = _norms(model, hooks, L, H, T)
    missing = (
        ""
        if values is not None
        else " Value norms and ||v W_O|| are not captured for this architecture (its value "
        "projection is not one bos_widget can read), so the norm-weighted view is off."
    )
    note = (
        f"{type(model).__name__} is not in transformers' attention recording table, so its "
        "attention was read from its own outputs (output_attentions=True); hidden-state norms "
        "come from output_hidden_states, whose last entry follows the final norm where the "
        f"model has one.{missing}"
    )
    return OutputsCapture(
        attention=attention,
        hidden=getattr(out, "hidden_states", None),
        value_norms=values,
        output_norms=wo,
        note=note,
    )
