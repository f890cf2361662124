"""Experiments layer: is the sink a position or a token? (D9), and the published sink rate.

* D9 ``relocation``: re-run the model on edited token sequences (drop the BOS, replace the
  first token, prepend ``"\\n"``, repeat one token) and see whether the sink follows the
  original first token or stays at position 0.
* ``gu_sink_rate``: sink rate (D2) under the protocol of Gu et al. (ICLR 2025), so that
  numbers can be set beside the published ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch

from ...capture.driver import bos_added_by_tokenizer, capture, eager_attention
from ...capture.naming import model_name
from .. import metrics
from ._forward import (
    Encoded,
    Recorder,
    encode,
    frame,
    inputs_for,
    self_sites,
)

# Tried in order as the default replacement of the first token: ordinary words that are a
# single token in most vocabularies (cased and uncased).
REPLACEMENTS = ("A", "a", "The", "the", "It", "it", "One", "one")


@dataclass(frozen=True)
class Variant:
    """An edited token sequence; ``old_position`` is where the original first token sits."""

    name: str
    ids: tuple[int, ...]
    old_position: int | None


def _single_token(tokenizer: Any, word: str) -> int | None:
    ids = tokenizer(word, add_special_tokens=False)["input_ids"]
    special = set(getattr(tokenizer, "all_special_ids", []) or [])
    if len(ids) != 1 or ids[0] in special:
        return None
    return int(ids[0])


def _variants(
    tokenizer: Any, enc: Encoded, prefix: str, replacement: str | None
) -> tuple[list[Variant], dict[str, str]]:
    ids = enc.ids
    first = ids[0]
    special = set(getattr(tokenizer, "all_special_ids", []) or [])
    out = [Variant("original", ids, 0)]
    skipped: dict[str, str] = {}
    if not enc.bos_added:
        skipped["drop_bos"] = "the tokenizer adds no BOS"
    elif enc.T < 3:
        skipped["drop_bos"] = "too few tokens left without the BOS"
    else:
        out.append(Variant("drop_bos", ids[1:], None))
    if replacement is not None:
        new = _single_token(tokenizer, replacement)
        if new is None:
            raise ValueError(
                f"replacement={replacement!r} is not a single ordinary token for this "
                "tokenizer; pass one word that encodes to exactly one token."
            )
    else:
        new = next(
            (t for w in REPLACEMENTS if (t := _single_token(tokenizer, w)) not in (None, first)),
            None,
        )
    if new is None or new == first:
        skipped["replace_first"] = "no single-token replacement word differs from token 0"
    else:
        out.append(Variant("replace_first", (new, *ids[1:]), None))
    pre = tuple(int(i) for i in tokenizer(prefix, add_special_tokens=False)["input_ids"])
    if pre:
        out.append(Variant("prepend", (*pre, *ids), len(pre)))
    else:
        skipped["prepend"] = f"the tokenizer encodes the prefix {prefix!r} to no token"
    word = next((i for i in ids if i not in special), first)
    out.append(Variant("repeat", (word,) * len(ids), 0 if word == first else None))
    return out, skipped


def relocation_variants(
    tokenizer: Any, text: str, *, prefix: str = "\n", replacement: str | None = None
) -> dict[str, Variant]:
    """The D9 token sequences for ``text`` (see :func:`relocation`), by variant name."""
    ids = [int(i) for i in tokenizer(text)["input_ids"]]
    if not text.strip() or not ids:
        raise ValueError("text is empty; pass a sentence to relocate its first token.")
    enc = Encoded(tuple(ids), bos_added_by_tokenizer(tokenizer, ids, text))
    variants, _ = _variants(tokenizer, enc, prefix, replacement)
    return {v.name: v for v in variants}


def relocation(
    model: Any,
    tokenizer: Any,
    text: str,
    *,
    eps: float = 0.3,
    prefix: str = "\n",
    replacement: str | None = None,
) -> pd.DataFrame:
    """D9: does the sink stay at position 0 when the first token changes?

    Variants of the tokenised ``text`` (``T`` tokens): ``original``; ``drop_bos`` (only when
    the tokenizer adds one); ``replace_first`` (token 0 replaced by an ordinary word,
    ``replacement`` or the first of ``REPLACEMENTS`` that is one token); ``prepend`` (the
    tokens of ``prefix`` put in front, so the original first token moves to position
    ``len(prefix tokens)``); ``repeat`` (the first non-special token repeated ``T`` times).
    Each runs under eager attention; ``alpha = metrics.sink_scores(A, causal)`` ``[L, H, T]``.

    Returns
    -------
    pandas.DataFrame
        One row per ``(variant, layer)`` with, averaged over heads: ``alpha_first``
        (``alpha[l, :, 0]``, the new first position), ``alpha_old`` (``alpha`` at the
        original first token's new position; NaN where it is gone), ``sink_rate``
        (fraction of the layer's heads with ``alpha[l, h, 0] > eps``), ``strongest`` and
        ``strongest_alpha`` (the key with the largest head-mean ``alpha`` among keys seen by
        at least ``metrics.MIN_SUPPORT`` queries); plus ``T`` per variant, ``model``,
        ``bos_added``, ``eps``. ``df.attrs["variants"]`` holds per variant its tokens,
        ``old_position``, whole-model ``sink_rate`` and ``strongest`` (over the mean of all
        heads); ``df.attrs["skipped"]`` says which variants were skipped and why.
    """
    sites = self_sites(model)
    enc = encode(model, tokenizer, text)
    variants, skipped = _variants(tokenizer, enc, prefix, replacement)
    rows, summary = [], {}
    with eager_attention(model), torch.inference_mode():
        for var in variants:
            with Recorder(sites) as rec:
                model(**inputs_for(model, var.ids))
            att = np.stack(rec.weights)  # type: ignore[arg-type]  # [L, H, T, T]
            T = att.shape[-1]
            causal = metrics.is_causal(att)
            alpha = metrics.sink_scores(att, causal)  # [L, H, T]
            support = metrics.supported_keys(T, causal)
            per_layer = alpha.mean(axis=1)  # [L, T]
            for layer, row in enumerate(per_layer):
                masked = np.where(support, row, -np.inf)
                old = var.old_position
                rows.append(
                    {
                        "variant": var.name,
                        "layer": layer,
                        "T": T,
                        "alpha_first": float(row[0]),
                        "alpha_old": float(row[old]) if old is not None else float("nan"),
                        "sink_rate": metrics.sink_rate(alpha[layer, :, 0], eps),
                        "strongest": int(masked.argmax()),
                        "strongest_alpha": float(masked.max()),
                    }
                )
            overall = np.where(support, per_layer.mean(axis=0), -np.inf)
            summary[var.name] = {
                "tokens": tokenizer.convert_ids_to_tokens(list(var.ids)),
                "old_position": var.old_position,
                "T": T,
                "sink_rate": metrics.sink_rate(alpha[..., 0], eps),
                "strongest": int(overall.argmax()),
            }
    setting = {
        "diagnostic": "D9 relocation",
        "model": model_name(model),
        "T": enc.T,
        "bos_added": enc.bos_added,
        "eps": eps,
        "prefix": prefix,
    }
    df = frame(rows, setting)
    df["eps"] = eps
    df.attrs["variants"] = summary
    df.attrs["skipped"] = skipped
    return df


GU_PROTOCOL = (
    "Gu et al., ICLR 2025 (When Attention Sink Emerges in Language Models): each text is "
    "tokenised with the model's own special tokens and truncated to exactly T tokens (texts "
    "shorter than T are rejected); alpha[l,h,0] = mean over all queries q of A[l,h,q,0]; "
    "sink rate = fraction of the L*H heads with alpha[l,h,0] > eps, one value per text, "
    "averaged over the texts. Published at T=64, eps=0.3: GPT2-XL 77%, Llama-2-7B 92%, "
    "Llama-3-8B 99%."
)


def gu_sink_rate(
    model: Any,
    tokenizer: Any,
    texts: Sequence[str],
    T: int = 64,
    eps: Sequence[float] = (0.3, 0.8),
) -> pd.DataFrame:
    """Sink rate under the Gu et al. (ICLR 2025) protocol.

    Protocol: each text is tokenised (special tokens as the tokenizer adds them) and
    truncated to exactly ``T`` tokens, default 64; a text with fewer tokens is an error.
    Per text, ``alpha[l, h, 0] = mean_q A[l, h, q, 0]`` (every query sees position 0) and the
    sink rate is the fraction of heads ``(l, h)`` with ``alpha[l, h, 0] > eps``; the rates
    are averaged over the texts. Published at eps = 0.3: GPT2-XL 77%, Llama-2-7B 92%,
    Llama-3-8B 99%.

    Returns
    -------
    pandas.DataFrame
        One row per ``eps`` with ``sink_rate`` (mean over texts), ``sink_rate_min``,
        ``sink_rate_max``, ``n_texts``; plus ``model``, ``T``, ``bos_added``.
        ``df.attrs["protocol"]`` states the protocol, ``df.attrs["per_text"]`` the rates
        ``[n_texts, n_eps]``.
    """
    if isinstance(texts, str) or len(texts) == 0:
        raise ValueError("Pass a list of one or more natural texts of at least T tokens each.")
    eps = tuple(float(e) for e in eps)
    rates, bos = [], []
    for i, text in enumerate(texts):
        run = capture(model, tokenizer, text, max_tokens=T)
        if run.T != T:
            raise ValueError(
                f"Text {i} has only {run.T} tokens but the protocol needs exactly T={T}; "
                "pass longer natural text (or a smaller T, and report it)."
            )
        alpha0 = run.sink_scores()[..., 0]  # [L, H]
        rates.append([metrics.sink_rate(alpha0, e) for e in eps])
        bos.append(run.meta.bos_added)
    per_text = np.asarray(rates)
    rows = [
        {
            "eps": e,
            "sink_rate": float(per_text[:, j].mean()),
            "sink_rate_min": float(per_text[:, j].min()),
            "sink_rate_max": float(per_text[:, j].max()),
            "n_texts": len(texts),
        }
        for j, e in enumerate(eps)
    ]
    setting = {
        "diagnostic": "D2 sink rate, Gu et al. protocol",
        "model": model_name(model),
        "T": T,
        "bos_added": any(bos),
        "eps": list(eps),
        "protocol": GU_PROTOCOL,
    }
    df = frame(rows, setting)
    df.attrs["protocol"] = GU_PROTOCOL
    df.attrs["per_text"] = per_text
    return df
