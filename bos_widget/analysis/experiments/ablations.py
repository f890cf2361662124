"""Experiments layer: ablating the first token in a causal language model (D8).

Two edits of one forward pass, each compared with the unedited pass through the LM head:

* (a) ``first_key_mask``: an additive 4D attention mask that hides key 0 from every query
  ``q > 0`` (softmax renormalises the rest). transformers 5 passes a 4D mask to the attention
  functions as given; the ablation checks in the recorded weights that it was honoured.
* (c) ``zero_first_value``: a scoped forward hook on every value projection that returns a
  copy with position 0 zeroed, so the first token hands out nothing. Query 0 attends only
  to itself, so this also empties the first token's own attention output in every layer,
  which changes its later keys: attention is kept in layer 0 only.
* (b) ``remove_sink_output``, the exact "keep attention, remove what position 0 hands
  out": a scoped forward hook on every attention module that subtracts exactly what the
  first token hands out, ``u_t = A[t, 0] f(x_0)`` (D7), from the output of queries
  ``t > 0``; the first token's own stream, and so its keys, stay intact.

Lettered as in SCIENCE.md's D8. Parking (claim C3) predicts that (a) hurts next-token loss
and (b) barely matters. These run one text at a time; ``bos_widget.explain`` runs the same
edits over a corpus, with random- and median-position controls and mean-ablation.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.nn import functional

from ...capture.driver import eager_attention
from ...capture.hooks import AttentionSite, ScopedHooks, ov_weights, per_query_head
from ...capture.naming import model_name
from ..metrics import is_causal
from ._forward import Recorder, encode, frame, inputs_for, self_sites

# Largest attention to key 0 from a query q > 0 that still counts as "masked".
MASK_TOLERANCE = 1e-6


def first_key_mask(
    T: int, dtype: torch.dtype = torch.float32, device: Any = None, causal: bool = True
) -> torch.Tensor:
    """Additive attention mask ``[1, 1, T, T]`` that hides key 0 from queries ``q > 0``.

    Entries are 0 where attention is allowed and ``finfo(dtype).min`` where it is not: above
    the diagonal when ``causal``, and at ``[q > 0, k = 0]``. Query 0 keeps key 0 (its only
    key in a causal model), so no row is fully masked.
    """
    if T < 1:
        raise ValueError(f"T must be at least 1, got {T}.")
    allowed = torch.ones(T, T, dtype=torch.bool, device=device)
    if causal:
        allowed = allowed.tril()
    allowed[1:, 0] = False
    mask = torch.zeros(T, T, dtype=dtype, device=device)
    return mask.masked_fill(~allowed, torch.finfo(dtype).min)[None, None]


@contextmanager
def zero_first_value(model: Any, position: int = 0) -> Iterator[None]:
    """Inside the block, every self-attention layer sees ``v_position = 0``.

    A forward hook on each value projection returns a modified copy of its output (for
    GPT-2's fused ``c_attn`` only the value part); the hooks are removed on exit, also when
    the forward raises. The attention weights are unchanged.
    """
    sites = self_sites(model)

    def make_hook(site: Any) -> Any:
        def hook(module: nn.Module, args: Any, output: Any) -> torch.Tensor:
            if not isinstance(output, torch.Tensor):
                raise TypeError(f"{site.name}'s value projection returned {type(output)}.")
            out = output.clone()
            site.split(out, "v")[:, position] = 0  # split is a view into ``out``
            return out

        return hook

    with ScopedHooks() as hooks:
        for site in sites:
            if site.v_proj is None:
                raise TypeError(f"No value projection found next to {site.name}.")
            hooks.forward(site.v_proj, make_hook(site))
        yield


@contextmanager
def remove_sink_output(model: Any) -> Iterator[None]:
    """Inside the block, queries ``t > 0`` no longer receive what key 0 hands out.

    A forward hook on each value projection keeps ``v_0``; a forward hook on each attention
    module returns a copy of its output minus ``sum_h A_h[t, 0] v_0^h W_O^h`` for ``t > 0``
    (the output projection's bias is unaffected). Needs eager attention (the weights must be
    in the module's output) and an output projection inside the attention module (GPT-2,
    Llama families). Hooks are removed on exit, also when the forward raises.
    """
    sites = self_sites(model)
    first_values: dict[int, torch.Tensor] = {}

    def value_hook(i: int, site: AttentionSite) -> Any:
        def hook(module: nn.Module, args: Any, output: Any) -> None:
            first_values[i] = site.split(output, "v")[0, 0].detach()  # [kvH * d]

        return hook

    def output_hook(i: int, site: AttentionSite) -> Any:
        def hook(module: nn.Module, args: Any, output: Any) -> Any:
            w = site.weights(
                output, "Use remove_sink_output inside bos_widget.capture.eager_attention(model)."
            )
            n_heads = w.shape[1]
            ov = ov_weights(site, n_heads).to(output[0].dtype)  # [H, d, hidden]
            v0 = first_values.pop(i).to(ov.dtype).reshape(-1, ov.shape[1])  # [kvH, d]
            v0 = per_query_head(v0, n_heads, dim=0)  # [H, d]
            f0 = torch.einsum("hd,hde->he", v0, ov)  # f(x_0) per head
            u = torch.einsum("bht,he->bte", w[:, :, :, 0].to(ov.dtype), f0)  # summed over heads
            u[:, 0] = 0
            return (output[0] - u, *output[1:])

        return hook

    with ScopedHooks() as hooks:
        for i, site in enumerate(sites):
            inside = site.o_proj is not None and any(
                m is site.o_proj for m in site.module.modules()
            )
            if site.v_proj is None or not inside:
                raise TypeError(
                    f"{site.name}: remove_sink_output needs the value and output projections "
                    "inside the attention module (GPT-2 and Llama-like decoders)."
                )
            hooks.forward(site.v_proj, value_hook(i, site))
            hooks.forward(site.module, output_hook(i, site))
        yield


def _next_token_stats(
    logits: torch.Tensor, base_logp: torch.Tensor | None, ids: torch.Tensor
) -> tuple[torch.Tensor, float, float]:
    """Loss of positions 1..T-2 predicting tokens 2..T-1; mean KL(base || this) over 1..T-1."""
    logp = functional.log_softmax(logits[0, 1:].double(), dim=-1)  # [T-1, V], positions 1..T-1
    loss = float(functional.nll_loss(logp[:-1], ids[0, 2:].to(logp.device)))
    if base_logp is None:
        return logp, loss, 0.0
    kl = (base_logp.exp() * (base_logp - logp)).sum(-1).mean()
    return logp, loss, float(kl)


ABLATIONS = ("none", "mask_key0", "zero_value0", "remove_sink_output")


def ablate_first_token(model: Any, tokenizer: Any, text: str) -> pd.DataFrame:
    """D8: next-token loss and KL when the first token is masked out or hands out nothing.

    Passes, all under eager attention so that they differ only by the ablation:

    * ``none``: the model as it is;
    * ``mask_key0`` (a): key 0 hidden from every query ``q > 0`` (:func:`first_key_mask`);
    * ``zero_value0`` (c): ``v_0 = 0`` in every layer, for query 0 too, so later keys
      change (:func:`zero_first_value`);
    * ``remove_sink_output`` (b, attention kept): ``A[t, 0] f(x_0)`` subtracted for
      ``t > 0`` in every
      layer, the first token's own stream intact (:func:`remove_sink_output`).

    Only queries ``q > 0`` are scored, because (a) and (b) leave position 0 alone:
    ``loss`` is the mean cross-entropy of the logits at positions ``1..T-2`` predicting
    tokens ``2..T-1``, ``kl`` the mean over positions ``1..T-1`` of
    ``KL(p_base || p_ablated)`` in nats.

    Parameters
    ----------
    model : transformers.PreTrainedModel
        A causal language model with an LM head (e.g. ``AutoModelForCausalLM``).
    tokenizer : transformers tokenizer
    text : str
        At least three tokens.

    Returns
    -------
    pandas.DataFrame
        One row per ``ablation`` (``ABLATIONS``) with ``loss``, ``delta_loss`` (ablated minus
        base), ``kl``, ``max_attn_key0`` (largest recorded ``A[q > 0, 0]`` over layers and
        heads), plus ``model``, ``T``, ``bos_added`` and ``df.attrs["setting"]``.

    Raises
    ------
    TypeError
        For encoders or models without an LM head (next-token loss is undefined there).
    RuntimeError
        When the model ignored the 4D mask (attention to key 0 survived it).
    """
    sites = self_sites(model)
    enc = encode(model, tokenizer, text)
    if enc.T < 3:
        raise ValueError(
            f"D8 needs a text of at least 3 tokens (got {enc.T}): queries q > 0 must have a "
            "next token to predict."
        )
    ids = torch.tensor([list(enc.ids)], device=model.device)
    rows = []
    base_logp: torch.Tensor | None = None
    base_loss = 0.0
    dtype = next(model.parameters()).dtype
    edits: dict[str, Any] = {
        "zero_value0": zero_first_value,
        "remove_sink_output": remove_sink_output,
    }
    with eager_attention(model), torch.inference_mode():
        for ablation in ABLATIONS:
            extra: dict[str, Any] = {}
            if ablation == "mask_key0":
                extra["attention_mask"] = first_key_mask(enc.T, dtype, model.device)
            edit = edits[ablation](model) if ablation in edits else nullcontext()
            with Recorder(sites) as rec, edit:
                out = model(**inputs_for(model, enc.ids, **extra))
            weights = np.stack(rec.weights)  # type: ignore[arg-type]
            if ablation == "none":
                _require_causal_lm(model, out, weights)
            leak = float(weights[:, :, 1:, 0].max())
            if ablation == "mask_key0" and leak > MASK_TOLERANCE:
                raise RuntimeError(
                    f"{type(model).__name__} ignored the custom 4D attention mask (attention "
                    f"to key 0 is still {leak:.3g}); D8(a) is not supported for this family."
                )
            logp, loss, kl = _next_token_stats(out.logits, base_logp, ids)
            if base_logp is None:
                base_logp, base_loss = logp, loss
            rows.append(
                {
                    "ablation": ablation,
                    "loss": loss,
                    "delta_loss": loss - base_loss,
                    "kl": kl,
                    "max_attn_key0": leak,
                }
            )
    setting = {
        "diagnostic": "D8 first-token ablations",
        "model": model_name(model),
        "T": enc.T,
        "bos_added": enc.bos_added,
        "first_token": tokenizer.convert_ids_to_tokens(enc.ids[0]),
        "loss_positions": "logits at 1..T-2 predicting tokens 2..T-1",
        "kl_positions": "1..T-1",
    }
    return frame(rows, setting)


def _require_causal_lm(model: Any, out: Any, weights: np.ndarray) -> None:
    logits = getattr(out, "logits", None)
    if not isinstance(logits, torch.Tensor) or logits.dim() != 3:
        raise TypeError(
            f"{type(model).__name__} has no language-model head, so next-token loss is "
            "undefined. D8 needs a causal LM: load it with AutoModelForCausalLM."
        )
    if not is_causal(weights):
        raise TypeError(
            f"{type(model).__name__} attends to later tokens (bidirectional), so next-token "
            "loss is undefined. D8 needs a causal decoder such as GPT-2 or Llama."
        )
