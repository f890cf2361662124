"""Experiments layer (helper): tokenising, running and recording for the model re-runs.

Every experiment in this package runs the model itself (``capture`` only reads one pass), so
this module holds what they share: turning text or token ids into model inputs, a scoped
recorder of each self-attention layer's weights (and, on request, its value vectors), the
check that a model is a causal decoder, and the DataFrame stamp that says where numbers came
from (model, T, whether a BOS was added). Hooks are registered inside ``with`` and removed in
``finally``; everything recorded is detached and copied to CPU float32.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from ...capture.driver import bos_added_by_tokenizer, check_text, tokenize
from ...capture.hooks import (
    AttentionSite,
    ScopedHooks,
    find_attention_sites,
    ov_weights,
    per_query_head,
)


@dataclass(frozen=True)
class Encoded:
    """One tokenised text: ``ids`` (length ``T``), and whether the tokenizer added a BOS."""

    ids: tuple[int, ...]
    bos_added: bool

    @property
    def T(self) -> int:  # noqa: N802 (the papers' name)
        return len(self.ids)


def encode(model: Any, tokenizer: Any, text: str, max_tokens: int | None = None) -> Encoded:
    """Tokenise ``text`` the way ``capture`` does (same checks, same special tokens)."""
    text = check_text(text)
    enc = tokenize(tokenizer, model, text, None, max_tokens)
    ids = [int(i) for i in enc["input_ids"][0].tolist()]
    return Encoded(tuple(ids), bos_added_by_tokenizer(tokenizer, ids, text))


def inputs_for(model: Any, ids: tuple[int, ...] | list[int], **extra: Any) -> dict[str, Any]:
    """Keyword arguments for ``model(**inputs)`` on one sequence of token ids ``[1, T]``."""
    if len(ids) == 0:
        raise ValueError("There are no tokens to run; pass a non-empty text.")
    inputs: dict[str, Any] = {"input_ids": torch.tensor([list(ids)], device=model.device)}
    if "use_cache" in inspect.signature(model.forward).parameters:
        inputs["use_cache"] = False
    inputs.update(extra)
    return inputs


def self_sites(model: Any) -> list[AttentionSite]:
    """The self-attention sites of a single-stack (decoder-only or encoder-only) model."""
    if getattr(model.config, "is_encoder_decoder", False):
        raise TypeError(
            f"{type(model).__name__} is an encoder-decoder model; the experiments re-run "
            "decoder-only or encoder-only models. Use capture() for encoder-decoder attention."
        )
    return [s for s in find_attention_sites(model) if s.group == "self"]


def frame(rows: list[dict[str, Any]], setting: dict[str, Any]) -> pd.DataFrame:
    """A DataFrame of ``rows`` stamped with ``model``, ``T``, ``bos_added`` columns and attrs."""
    df = pd.DataFrame(rows)
    for key in ("model", "T", "bos_added"):
        if key not in df.columns:
            df[key] = setting.get(key)
    df.attrs["setting"] = dict(setting)
    return df


class Recorder(ScopedHooks):
    """Scoped hooks that copy each self-attention layer's weights (and values) per pass.

    Use as ``with Recorder(sites, values=True) as rec: model(**inputs)``; afterwards
    ``rec.weights[l]`` is float32 ``[H, T, T]`` and ``rec.head_values(l)`` gives
    ``f(x_k) = v_k W_O^h`` per head, ``[H, T, hidden]``. Every hook is removed on exit, also
    when the forward raises (``hooks.ScopedHooks``).
    """

    def __init__(self, sites: list[AttentionSite], values: bool = False) -> None:
        super().__init__()
        self.sites = sites
        self.values = values
        self.weights: list[np.ndarray | None] = []
        self._v: list[torch.Tensor | None] = []

    def install(self) -> None:
        self.weights = [None] * len(self.sites)
        self._v = [None] * len(self.sites)
        for i, site in enumerate(self.sites):
            self.forward(site.module, self._weight_hook(i))
            if self.values:
                if site.v_proj is None or site.o_proj is None:
                    raise TypeError(
                        f"No value or output projection found next to {site.name}; "
                        "this experiment needs both (GPT-2, Llama, BERT families)."
                    )
                self.forward(site.v_proj, self._value_hook(i))

    def _weight_hook(self, i: int) -> Any:
        site = self.sites[i]

        def hook(module: nn.Module, args: Any, output: Any) -> None:
            w = site.weights(
                output, "Run the pass inside bos_widget.capture.eager_attention(model)."
            )
            self.weights[i] = w[0].detach().float().cpu().numpy().copy()

        return hook

    def _value_hook(self, i: int) -> Any:
        site = self.sites[i]

        def hook(module: nn.Module, args: Any, output: Any) -> None:
            out = output[0] if isinstance(output, tuple) else output
            self._v[i] = site.split(out, "v")[0].detach().float().clone()  # [T, kvH * d]

        return hook

    def head_values(self, i: int) -> torch.Tensor:
        """``f(x_k) = v_k W_O^h`` of layer ``i``, float32 ``[H, T, hidden]`` (kv heads expanded)."""
        w, v = self.weights[i], self._v[i]
        if w is None or v is None:
            raise RuntimeError(f"Layer {i} was not recorded; run the model inside the block.")
        n_heads = w.shape[0]
        ov = ov_weights(self.sites[i], n_heads).float().to(v.device)  # [H, d, hidden]
        per_head = v.reshape(v.shape[0], -1, ov.shape[1])  # [T, kvH, d]
        per_head = per_query_head(per_head, n_heads)
        return torch.einsum("thd,hde->hte", per_head, ov).cpu()
