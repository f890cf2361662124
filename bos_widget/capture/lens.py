"""Run layer (inputs): a TransformerLens ``ActivationCache`` -> ``AttentionRun``.

``run_from_transformer_lens`` reads what ``model.run_with_cache(tokens)`` stored: the attention
``pattern`` of every layer, and where present the values (``v``, for value norms and, with the
model's ``W_O``, the D3 norms ``||v_k W_O^h||``) and the residual stream (``resid_pre`` /
``resid_post``, for the hidden-state norms). Neither torch nor transformer_lens is imported:
the cache is read through its mapping interface (a plain ``dict`` of hook names works too),
tensors through their ``detach`` method.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from ..run import AttentionRun
from .adapters import run_from_attentions
from .naming import model_name
from .tokens import display_tokens

LAST_BEFORE_NORM = "last block output (before the final norm)"  # = capture.LAST_BEFORE_NORM


def _np(x: Any) -> np.ndarray:
    """A cached tensor (any device and float dtype) or array as numpy; floats as float32."""
    if hasattr(x, "detach"):  # torch, recognised without importing it
        x = x.detach().cpu()
        x = (x.float() if x.dtype.is_floating_point else x).numpy()
    arr = np.asarray(x)
    return arr.astype(np.float32) if np.issubdtype(arr.dtype, np.floating) else arr


def _hook(name: str, layer: int) -> str:
    attn = {"pattern", "v", "k"}
    return f"blocks.{layer}.{'attn.' if name in attn else ''}hook_{name}"


def _keys(cache: Any) -> set[str]:
    if not callable(getattr(cache, "keys", None)) or not hasattr(cache, "__getitem__"):
        raise TypeError(
            "from_transformer_lens expects a TransformerLens ActivationCache (the second value "
            f"of model.run_with_cache(tokens)) or a dict of hook names, got {type(cache).__name__}."
        )
    names = cache.keys()  # a dict or an ActivationCache (both have keys())
    return {k for k in names if isinstance(k, str)}


def _layers(keys: set[str]) -> int:
    present = sorted(
        int(k.split(".")[1]) for k in keys if k.startswith("blocks.") and k.endswith("hook_pattern")
    )
    if not present:
        raise ValueError(
            "The cache holds no attention patterns (blocks.<layer>.attn.hook_pattern); run "
            "model.run_with_cache(tokens) without names_filter, or let the filter keep "
            "'hook_pattern'."
        )
    if present != list(range(len(present))):
        raise ValueError(
            f"The cache holds attention patterns of layers {present} only; the widget needs "
            "every layer from 0, so keep 'hook_pattern' of all layers in names_filter."
        )
    return len(present)


def _one_input(arr: np.ndarray, batched: bool, index: int | None) -> np.ndarray:
    """One input of a cached activation: drop the batch axis (refusing an unchosen batch)."""
    if not batched:
        return arr
    B = arr.shape[0]
    if index is None:
        if B != 1:
            raise ValueError(
                f"The cache holds a batch of {B} inputs; choose one with batch_index=i "
                f"(0 <= i < {B})."
            )
        index = 0
    if not -B <= index < B:
        raise ValueError(f"batch_index must lie in [0, {B}) for this cache, got {index}.")
    return arr[index]


def _token_strings(tokens: Any, model: Any, batch_index: int | None) -> tuple[list[str], list]:
    """Display strings and ids (``[]`` when strings were given) of one input."""
    if isinstance(tokens, (str, bytes)):
        raise TypeError(
            "tokens must be the token ids the model ran on (model.to_tokens(text)) or one "
            "string per position (model.to_str_tokens(text)), not a single string."
        )
    if isinstance(tokens, Sequence) and tokens and all(isinstance(t, str) for t in tokens):
        return list(tokens), []
    try:
        ids = _np(tokens)
    except (TypeError, ValueError):
        ids = np.zeros(0, dtype=object)
    if not np.issubdtype(ids.dtype, np.integer):
        raise TypeError(
            "tokens must be token ids (a tensor [batch, T] or [T]) or a list of strings, one "
            f"per position; got {type(tokens).__name__}."
        )
    if ids.ndim == 2:
        ids = _one_input(ids, True, batch_index)
    if ids.ndim != 1:
        raise ValueError(f"token ids must have shape [batch, T] or [T], got {ids.shape}.")
    id_list = [int(i) for i in ids]
    tokenizer = getattr(model, "tokenizer", None)
    if tokenizer is not None and hasattr(tokenizer, "convert_ids_to_tokens"):
        return display_tokens(tokenizer, id_list), id_list
    return [str(i) for i in id_list], id_list  # a model without tokenizer: show the ids


def _output_norms(values: np.ndarray, W_O: Any, layer: int) -> np.ndarray | None:
    """``||v_k W_O^h||`` ``[H, T]`` from values ``[H, T, d]`` and ``W_O`` ``[L, H, d, D]``."""
    if W_O is None:
        return None
    w = _np(W_O[layer])
    if w.ndim != 3 or w.shape[:2] != values.shape[::2]:
        return None
    gram = w @ w.transpose(0, 2, 1)  # [H, d, d]: no [H, T, D] product is formed
    sq = np.einsum("htd,hde,hte->ht", values, gram, values)
    return np.sqrt(np.clip(sq, 0, None))


def run_from_transformer_lens(
    cache: Any,
    tokens: Any,
    *,
    batch_index: int | None = None,
    model: str | None = None,
    causal: bool | None = None,
    bos_added: bool | None = None,
) -> AttentionRun:
    """Build an ``AttentionRun`` from a TransformerLens ``ActivationCache``.

    Parameters
    ----------
    cache : transformer_lens.ActivationCache or dict
        From ``logits, cache = model.run_with_cache(tokens)`` (``TransformerBridge`` in
        TransformerLens 4, ``HookedTransformer`` before). ``cache["pattern", l]`` ``[B, H, T, T]``
        of every layer is read; ``cache["v", l]`` ``[B, T, H_kv, d_head]`` gives value norms
        (and, with ``cache.model.W_O`` ``[L, H, d_head, d_model]``, the norms
        ``||v_k W_O^h||`` that ``weighting="norm"`` needs) and ``resid_pre`` / the last
        ``resid_post`` ``[B, T, d_model]`` the hidden-state norms, where the cache has them.
        Caches made with ``remove_batch_dim=True`` have no ``B`` axis.
    tokens : token ids ``[B, T]`` or ``[T]``, or list of str
        The ids the model ran on (shown through ``cache.model.tokenizer``, or as numbers for a
        model without one), or one display string per position.
    batch_index : int, optional
        Which input of a batch to show; required when ``B > 1``.
    model : str, optional
        Name shown in figures; default ``cache.model.cfg.model_name``.
    causal : bool, optional
        Default: ``cfg.attention_dir == "causal"``, else detected from the maps.
    bos_added : bool, optional
        Whether position 0 is a BOS token; default: the first id is the tokenizer's BOS id.
    """
    keys = _keys(cache)
    L = _layers(keys)
    tl_model = getattr(cache, "model", None)
    cfg = getattr(tl_model, "cfg", None)
    batched = bool(getattr(cache, "has_batch_dim", True))
    maps = [_one_input(_np(cache[_hook("pattern", l)]), batched, batch_index) for l in range(L)]
    shown, ids = _token_strings(tokens, tl_model, batch_index)
    attention_dir = getattr(cfg, "attention_dir", None)
    if causal is None and attention_dir in ("causal", "bidirectional"):
        causal = attention_dir == "causal"
    if bos_added is None:
        bos_id = getattr(getattr(tl_model, "tokenizer", None), "bos_token_id", None)
        bos_added = bool(ids) and bos_id is not None and ids[0] == bos_id
    name = model_name(tl_model, model) if tl_model is not None else model
    name = name or "TransformerLens model"
    run = run_from_attentions(maps, shown, model=name, causal=causal, bos_added=bos_added)
    H, T = run.n_heads, run.T
    extra: dict[str, Any] = {"token_ids": tuple(ids)}
    if all(_hook("v", l) in keys for l in range(L)):
        W_O = getattr(tl_model, "W_O", None) if cfg is not None else None
        vn, on = [], []
        for l in range(L):
            v = _one_input(_np(cache[_hook("v", l)]), batched, batch_index)  # [T, H_kv, d]
            if v.ndim != 3 or v.shape[0] != T or H % v.shape[1]:
                break
            v = np.repeat(v, H // v.shape[1], axis=1).transpose(1, 0, 2)  # [H, T, d]: GQA
            vn.append(np.linalg.norm(v, axis=-1))
            on.append(_output_norms(v, W_O, l))
        if len(vn) == L:
            extra["value_norms"] = np.stack(vn).astype(np.float32)
            if all(o is not None for o in on):
                extra["output_norms"] = np.stack(on).astype(np.float32)
    resid = [_hook("resid_pre", l) for l in range(L)] + [_hook("resid_post", L - 1)]
    if all(k in keys for k in resid):
        h = np.stack([_one_input(_np(cache[k]), batched, batch_index) for k in resid])
        if h.ndim == 3 and h.shape[1] == T:  # [L + 1, T, d_model]
            extra["hidden_norms"] = np.linalg.norm(h, axis=-1).astype(np.float32)
            extra["hidden_max_abs"] = np.abs(h).max(axis=-1).astype(np.float32)
            extra["hidden_median_abs"] = np.median(np.abs(h), axis=(1, 2)).astype(np.float32)
    n_kv = getattr(cfg, "n_key_value_heads", None) or H
    meta = replace(
        run.meta,
        model_class=str(getattr(cfg, "architecture", None) or type(tl_model).__name__)
        if tl_model is not None
        else "",
        n_kv_heads=int(n_kv),
        last_hidden=LAST_BEFORE_NORM if "hidden_norms" in extra else "",
    )
    return replace(run, meta=meta, **extra)
