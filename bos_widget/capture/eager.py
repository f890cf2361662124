"""Capture layer: the eager path, the fallback for attention that q and k cannot rebuild.

The model is switched to eager attention for one forward pass (transformers 5 returns no
weights under sdpa) and restored afterwards, also when the forward raises. Scoped forward
hooks then

* copy each attention module's weights to CPU float16 as the layer produces them, so no
  float32 copy of all layers is ever held (peak extra memory is about one layer's float32
  attention plus the float16 store), or, in summary mode, measure each layer and keep only
  the mean of heads and the sink scores;
* hook the key and value projections to measure ``||k||``, ``||v||`` and ``||v W_O^h||`` per
  head (D3/D4 of SCIENCE.md) for the GPT-2, Llama-like, BERT-like, T5 and BART families (of
  the encoder's tokens, the keys, for cross-attention);
* copy the last block's output as it leaves the block (both paths use this hook);
* in modules with learned sink logits (a ``sinks`` tensor of one logit per head, gpt-oss),
  keep ``p_sink = 1 - sum_k A[q, k]`` per head and query: eager attention drops the sink's
  column of the softmax, so its rows sum to ``1 - p_sink``.

Which module produces a model's attention weights is read from transformers' own per-class
recording table (``_can_record_outputs``), the same table that implements
``output_attentions=True``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from .hooks import (
    AttentionSite,
    CaptureError,
    ScopedHooks,
    attention_implementation,
    current_implementation,
    ov_weights,
    per_query_head,
)


@dataclass
class _LayerStore:
    """Per-group (encoder / decoder / cross) buffers filled by hooks, layer by layer."""

    n_layers: int
    attention: np.ndarray | None = None
    value_norms: np.ndarray | None = None
    key_norms: np.ndarray | None = None
    output_norms: np.ndarray | None = None
    head_mean: np.ndarray | None = None  # float16 [L, T_q, T_k], the view's default slice
    sink_slot: np.ndarray | None = None  # float32 [L, H, T_q], p_sink (learned sink logits)
    summary: _SummaryStore | None = None


@dataclass
class _SummaryStore:
    """Summary mode: what is kept of each layer once its attention has been measured."""

    sink_scores: np.ndarray | None = None  # float32 [L, H, T]
    norm_first: np.ndarray | None = None  # float32 [L, H]
    norm_share0: np.ndarray | None = None  # float32 [L, H]
    causal: bool | None = None


def has_sink_logits(module: nn.Module, n_heads: int) -> bool:
    """True when ``module`` holds learned sink logits: a ``sinks`` tensor ``[n_heads]`` (the
    name gpt-oss and every transformers model that passes ``s_aux`` to attention use)."""
    sinks = getattr(module, "sinks", None)
    return isinstance(sinks, torch.Tensor) and sinks.numel() == n_heads


def _tensor_is_causal(w: torch.Tensor) -> bool:
    """Torch twin of :func:`metrics.is_causal` for a map ``[..., T, T]`` that stays on the
    model's device (copying a summary-mode map to the CPU would cost ``T^2`` values)."""
    return w.shape[-1] > 1 and bool((w.triu(1) == 0).all())


@contextmanager
def eager_attention(model: Any) -> Iterator[str]:
    """Switch ``model`` to eager attention inside the block; restore it afterwards.

    Yields the implementation the model had before.
    """
    before = current_implementation(model)

    def refused(exc: Exception) -> Exception:
        return CaptureError(
            f"{type(model).__name__} uses {before!r} attention, which returns no weights, "
            "and cannot be switched to eager. Load it with attn_implementation='eager'."
        )

    with attention_implementation(model, "eager", refused) as was:
        yield was


class Recorder(ScopedHooks):
    """Installs the capture hooks; removes every one of them on exit (``ScopedHooks``)."""

    def __init__(
        self,
        sites: list[AttentionSite],
        progress: Any,
        summary: bool = False,
        blocks: dict[str, nn.Module] | None = None,
    ) -> None:
        super().__init__()
        self.sites = sites
        self.progress = progress
        self.summary = summary
        self.blocks = blocks or {}  # group -> its last block
        self.last_block: dict[str, torch.Tensor] = {}  # group -> float32 [T, d] on the CPU
        self.groups: dict[str, _LayerStore] = {}
        for site in sites:
            store = self.groups.setdefault(site.group, _LayerStore(0))
            store.n_layers += 1
        self._pending: dict[int, dict[str, torch.Tensor]] = {}

    def install(self) -> None:
        for i, site in enumerate(self.sites):
            self.forward(site.module, self._attention_hook(i))
            if site.k_proj is not None:
                self.forward(site.k_proj, self._proj_hook(i, "k"))
            if site.v_proj is not None:
                self.forward(site.v_proj, self._proj_hook(i, "v"))
        for group, block in self.blocks.items():
            self.forward(block, self._block_hook(group))

    def remove(self) -> None:
        super().remove()
        self._pending.clear()

    def _proj_hook(self, i: int, which: str) -> Any:
        def hook(module: nn.Module, args: Any, output: Any) -> None:
            out = output[0] if isinstance(output, tuple) else output
            self._pending.setdefault(i, {})[which] = out.detach()

        return hook

    def _block_hook(self, group: str) -> Any:
        def hook(module: nn.Module, args: Any, output: Any) -> None:
            out = output[0] if isinstance(output, tuple) else output
            if isinstance(out, torch.Tensor) and out.dim() == 3:
                # one [T, d] copy, in float32 so that the D5 stats are the model's own numbers
                self.last_block[group] = out[0].detach().to("cpu", torch.float32, copy=True)

        return hook

    def _attention_hook(self, i: int) -> Any:
        site = self.sites[i]

        def hook(module: nn.Module, args: Any, output: Any) -> None:
            weights = site.weights(
                output,
                "It did so even under eager attention: this model family is not supported yet; "
                "please report it with the model id.",
            )
            store = self.groups[site.group]
            w = weights[0]
            pending = self._pending.pop(i, {})
            if "v" in pending and site.o_proj is not None:
                self._norms(site, store, pending, w.shape[0])
            if store.head_mean is None:
                _, tq, tk = w.shape
                store.head_mean = np.empty((store.n_layers, tq, tk), dtype=np.float16)
            # copy_ converts straight into the float16 store: no float16 temporary, one pass
            torch.from_numpy(store.head_mean[site.layer]).copy_(w.float().mean(dim=0))
            if has_sink_logits(site.module, w.shape[0]):
                if store.sink_slot is None:
                    store.sink_slot = np.zeros((store.n_layers, *w.shape[:2]), dtype=np.float32)
                slot = (1.0 - w.float().sum(dim=-1)).clamp_(0.0, 1.0)  # [H, T_q], float32 sum
                store.sink_slot[site.layer] = slot.cpu().numpy()
            if self.summary:
                self._summarise(site, store, w)
            else:
                if store.attention is None:
                    h, tq, tk = w.shape
                    store.attention = np.empty((store.n_layers, h, tq, tk), dtype=np.float16)
                torch.from_numpy(store.attention[site.layer]).copy_(w)
            if self.progress is not None:
                self.progress.update(1)

        return hook

    def _summarise(self, site: AttentionSite, store: _LayerStore, w: torch.Tensor) -> None:
        """Measure one layer's attention ``w`` ``[H, T, T]`` and keep only the summary."""
        sm = store.summary = store.summary or _SummaryStore()
        L, (H, T, _) = store.n_layers, w.shape
        if sm.sink_scores is None:
            sm.sink_scores = np.empty((L, H, T), dtype=np.float32)
            sm.causal = _tensor_is_causal(w[0])
        assert sm.sink_scores is not None
        w = w.float()
        counts = torch.arange(T, 0, -1, dtype=torch.float32) if sm.causal else float(T)
        sm.sink_scores[site.layer] = (w.sum(dim=1) / counts).cpu().numpy()  # D1, [H, T]
        if store.output_norms is None:
            return
        n = torch.from_numpy(store.output_norms[site.layer])  # [H, T]
        denom = torch.bmm(w, n[:, :, None])[..., 0]  # [H, T_q]
        share = torch.where(denom > 0, w[:, :, 0] * n[:, :1] / denom, torch.zeros_like(denom))
        if sm.norm_first is None:
            sm.norm_first = np.zeros((L, H), dtype=np.float32)
            sm.norm_share0 = np.zeros((L, H), dtype=np.float32)
        assert sm.norm_share0 is not None
        sm.norm_first[site.layer] = share.mean(dim=1).cpu().numpy()
        sm.norm_share0[site.layer] = (share[:, 1:] if T > 1 else share).mean(dim=1).cpu().numpy()

    def _norms(self, site: AttentionSite, store: _LayerStore, pending: dict, n_heads: int) -> None:
        ov = ov_weights(site, n_heads)  # [H, d, hidden]
        d = ov.shape[1]
        shape = (store.n_layers, n_heads, pending["v"].shape[1])
        for which in ("v", "k"):
            proj = site.split(pending[which], which) if which in pending else None
            if proj is None:
                continue
            per_head = proj[0].float().reshape(proj.shape[1], -1, d)  # [T, kvH, d]
            per_head = per_query_head(per_head, n_heads)
            norms = per_head.norm(dim=-1).T.cpu().numpy()  # [H, T]
            attr = "value_norms" if which == "v" else "key_norms"
            if getattr(store, attr) is None:
                setattr(store, attr, np.zeros(shape, dtype=np.float32))
            getattr(store, attr)[site.layer] = norms
            if which == "v":
                gram = ov.float() @ ov.float().transpose(1, 2)  # [H, d, d]
                sq = torch.einsum("thd,hde,the->ht", per_head, gram, per_head)
                if store.output_norms is None:
                    store.output_norms = np.zeros(shape, dtype=np.float32)
                store.output_norms[site.layer] = sq.clamp_min(0).sqrt().cpu().numpy()
