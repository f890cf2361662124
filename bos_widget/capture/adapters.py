"""Run layer (inputs): attention arrays from elsewhere -> ``AttentionRun``.

``run_from_attentions`` takes what Hugging Face returns for ``output_attentions=True`` (a tuple
of per-layer tensors ``[1, H, T, T]``, the input bertviz takes), or one array
``[L, H, T, T]``, as torch tensors, numpy arrays or nested lists; with ``query_tokens`` it
takes cross-attention ``[L, H, T_dec, T_enc]`` (decoder queries, encoder keys). torch is never
imported here: tensors are recognised by their ``detach`` method.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from ..analysis import metrics
from ..run import AttentionRun, RunMeta
from .tokens import readable

ROW_SUM_TOLERANCE = 1e-2
FLOAT16_MAX = float(np.finfo(np.float16).max)  # 65504


def _to_numpy(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):  # a torch tensor, on any device
        x = x.detach().cpu()
        if x.dtype.is_floating_point:
            x = x.float()  # bfloat16 has no numpy twin; bool and complex keep theirs (refused)
        x = x.numpy()
    try:
        arr = np.asarray(x)
    except ValueError as exc:  # ragged nested lists
        raise ValueError(
            f"Attention given as lists must be rectangular, [layers][heads][T][T] numbers ({exc})."
        ) from None
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)
    ):
        raise TypeError(
            f"Attention must be numeric (float) arrays or tensors, got dtype {arr.dtype}."
        )
    return arr.astype(np.float32, copy=False)


def _stack(attentions: Any) -> np.ndarray:
    if isinstance(attentions, (tuple, list)) and attentions and not np.isscalar(attentions[0]):
        missing = [i for i, a in enumerate(attentions) if a is None]
        if missing:
            raise TypeError(
                f"Layers {missing} hold None instead of numeric attention weights (dtype "
                "object): under sdpa or flash attention models return none. Call "
                "model.set_attn_implementation('eager') before the forward pass (or use "
                "AttentionWidget.from_model, which does it for you)."
            )
        layers = [_to_numpy(a) for a in attentions]
        shapes = {a.shape for a in layers}
        if len(shapes) != 1:
            raise ValueError(f"All layers must have the same shape, got {sorted(shapes)}.")
        return _one_input(np.stack(layers))  # [L, B, H, T, T] or [L, H, T, T]
    return _one_input(_to_numpy(attentions))


def _one_input(arr: np.ndarray) -> np.ndarray:
    """``[L, 1, H, T, T]`` -> ``[L, H, T, T]``; a batch of several inputs is refused."""
    if arr.ndim == 5:
        if arr.shape[1] != 1:
            raise ValueError(
                f"The attention holds a batch of {arr.shape[1]} inputs; pass one input "
                "(batch size 1), e.g. [a[i : i + 1] for a in attentions]."
            )
        arr = arr[:, 0]
    return arr


def run_from_attentions(
    attentions: Any,
    tokens: Sequence[str],
    *,
    model: str = "attention from arrays",
    causal: bool | None = None,
    bos_added: bool = False,
    query_tokens: Sequence[str] | None = None,
) -> AttentionRun:
    """Build an ``AttentionRun`` from attention arrays and token strings.

    Parameters
    ----------
    attentions : tuple of tensors ``[1, H, T, T]``, or array ``[L, H, T, T]``
        torch tensors, numpy arrays or nested lists of floats (any precision) or integers
        (hard attention); bool, complex and non-numeric data raise ``TypeError``. Rows (last
        axis) should sum to 1; rows that do not are shown with a warning.
    tokens : sequence of str
        One display string per position.
    model : str
        Name shown in figures.
    causal : bool, optional
        Default: detected (all weights above the diagonal are zero).
    bos_added : bool
        Whether position 0 is a token the tokenizer added.
    query_tokens : sequence of str, optional
        Cross-attention ``[L, H, T_q, T]``: one display string per query row (the decoder's
        tokens; ``tokens`` are then the encoder's, the keys). The run's ``meta.role`` is
        ``"cross"`` and it is bidirectional (every query sees every key).
    """
    tokens = _token_list(tokens, "tokens")
    arr = _stack(attentions)
    if arr.ndim != 4:
        raise ValueError(
            f"Expected attention of shape [layers, heads, T, T] (or a tuple of [1, heads, T, T]), "
            f"got shape {arr.shape}."
        )
    L, H, Tq, Tk = arr.shape
    queries = None if query_tokens is None else _token_list(query_tokens, "query_tokens")
    if queries is None and Tq != Tk:
        raise ValueError(
            f"Self-attention must be square, got {Tq} queries x {Tk} keys; for cross-attention "
            "pass query_tokens (one per query row)."
        )
    if queries is not None and Tq != len(queries):
        raise ValueError(
            f"The attention has {Tq} query rows but {len(queries)} query_tokens were given; "
            "pass one per row (the decoder's tokens)."
        )
    if Tk != len(tokens):
        raise ValueError(
            f"The attention covers {Tk} positions but {len(tokens)} tokens were given; pass "
            "one token per position."
        )
    if Tk == 0 or L == 0 or H == 0:
        raise ValueError("The attention is empty; capture at least one layer, head and token.")
    if not np.all(np.isfinite(arr)):
        raise ValueError(
            "The attention contains NaN or infinite values; this usually means the model ran "
            "in float16 and overflowed. Re-run it in float32 or bfloat16."
        )
    if arr.min() < 0:
        raise ValueError("Attention weights must be non-negative (did you pass logits?).")
    if arr.max() > FLOAT16_MAX:
        raise ValueError(
            f"Attention weights up to {float(arr.max()):.3g} do not fit float16 (max "
            f"{FLOAT16_MAX:g}), in which runs are kept; attention weights lie in [0, 1] (did "
            "you pass unnormalised scores?)."
        )
    worst = float(np.abs(arr.sum(-1) - 1).max())
    if worst > ROW_SUM_TOLERANCE:
        warnings.warn(
            f"Some attention rows do not sum to 1 (largest deviation {worst:.3f}); they are "
            "shown as given.",
            stacklevel=3,
        )
    if queries is not None:
        is_causal = False  # cross-attention: every decoder query sees every encoder key
    elif causal is None:
        is_causal = metrics.is_causal(arr)
    else:
        is_causal = bool(causal)
    shown = _shown(tokens)
    meta = RunMeta(
        model=model,
        model_class="",
        causal=is_causal,
        bos_added=bos_added,
        first_token=shown[0],
        role="self" if queries is None else "cross",
        n_kv_heads=H,
    )
    return AttentionRun(
        tokens=tuple(shown),
        token_ids=(),
        attention=arr.astype(np.float16),
        meta=meta,
        query_tokens=None if queries is None else tuple(_shown(queries)),
    )


def _token_list(tokens: Any, name: str) -> list[str]:
    if isinstance(tokens, (str, bytes)) or not isinstance(tokens, Iterable):
        raise TypeError(f"{name} must be a list of strings, one per position.")
    out = list(tokens)
    if not all(isinstance(t, str) for t in out):
        raise TypeError(f"{name} must be a list of strings, one per position.")
    return out


def _shown(tokens: list[str]) -> list[str]:
    """Whitespace-only tokens made visible; others as given."""
    return [readable(t) if t.strip() == "" else t for t in tokens]
