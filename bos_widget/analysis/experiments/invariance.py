"""Experiments layer: does the first token carry anything sentence-specific? (D6, D7).

* D6 ``bos_invariance``: the first token's hidden state in two texts that share it. A causal
  decoder's position 0 sees only itself, so the difference is 0 up to float noise: the
  "global information hub" claim (C1) is false by construction. BERT's is not 0.
* D7 ``sink_output``: what the sink hands out, ``u_t = A[t, 0] f(x_0)`` per head, compared
  across positions and inputs and against the head's whole output.

See ``shared/SCIENCE.md`` for the formulas.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch

from ...capture.driver import eager_attention
from ...capture.naming import model_name
from ...explain.passes import residual
from ._forward import Recorder, encode, frame, inputs_for, self_sites


def bos_invariance(model: Any, tokenizer: Any, text_a: str, text_b: str) -> pd.DataFrame:
    """D6: per layer ``||h_0(a) - h_0(b)|| / ||h_0(a)||`` for two texts sharing token 0.

    Parameters
    ----------
    model : transformers.PreTrainedModel
        Decoder-only or encoder-only model; hidden states are read with hooks on its blocks
        (``L + 1`` of them: the input of block 0, then each block's output, the last one
        before any final norm, where transformers' ``hidden_states[-1]`` is after it).
    tokenizer : transformers tokenizer
    text_a, text_b : str
        Two different texts whose first token (after the tokenizer's special tokens) is the
        same.

    Returns
    -------
    pandas.DataFrame
        One row per hidden state ``layer`` (0 = embeddings) with ``rel_diff``, ``norm_a``;
        plus ``model``, ``T`` (of ``text_a``), ``T_b``, ``bos_added``. ``df.attrs["setting"]``
        repeats the setting with the shared first token.

    Raises
    ------
    ValueError
        When the texts are empty or do not start with the same token.
    """
    self_sites(model)  # rejects encoder-decoder models with a clear message
    a = encode(model, tokenizer, text_a)
    b = encode(model, tokenizer, text_b)
    if a.ids[0] != b.ids[0]:
        first_a, first_b = (tokenizer.convert_ids_to_tokens(x.ids[0]) for x in (a, b))
        raise ValueError(
            f"The two texts start with different tokens ({first_a!r} vs {first_b!r}); D6 "
            "compares the first token's state across texts, so start both with the same word."
        )
    extra: dict[str, Any] = {}
    if "logits_to_keep" in inspect.signature(model.forward).parameters:
        extra["logits_to_keep"] = 1
    ha: list[torch.Tensor] = []
    hb: list[torch.Tensor] = []
    with torch.inference_mode():
        with residual(model, record=ha):
            model(**inputs_for(model, a.ids, **extra))
        with residual(model, record=hb):
            model(**inputs_for(model, b.ids, **extra))
    rows = []
    for layer, (x, y) in enumerate(zip(ha, hb, strict=True)):
        h0a, h0b = x[0, 0].double(), y[0, 0].double()
        norm = float(h0a.norm())
        diff = float((h0a - h0b).norm())
        rows.append({"layer": layer, "rel_diff": diff / max(norm, 1e-30), "norm_a": norm})
    setting = {
        "diagnostic": "D6 BOS invariance",
        "model": model_name(model),
        "T": a.T,
        "T_b": b.T,
        "bos_added": a.bos_added,
        "first_token": tokenizer.convert_ids_to_tokens(a.ids[0]),
    }
    df = frame(rows, setting)
    df["T_b"] = b.T
    return df


def _mean_pair_cosine(sums: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean pairwise cosine within and between groups of unit vectors.

    ``sums`` ``[N, H, D]`` holds each input's sum of unit vectors, ``counts`` ``[N, H]`` how
    many; uses ``sum_{i != j} <n_i, n_j> = ||sum n||^2 - count``.
    """
    own = (sums**2).sum(-1)  # [N, H]
    with np.errstate(invalid="ignore", divide="ignore"):
        within = np.where(counts > 1, (own - counts) / (counts * (counts - 1)), np.nan)
        total = sums.sum(0)
        n = counts.sum(0)
        cross_pairs = n**2 - (counts**2).sum(0)
        between = np.where(cross_pairs > 0, ((total**2).sum(-1) - own.sum(0)) / cross_pairs, np.nan)
    valid = ~np.isnan(within)
    n_valid = valid.sum(0)
    mean_within = np.where(
        n_valid > 0, np.where(valid, within, 0).sum(0) / np.maximum(n_valid, 1), np.nan
    )
    return mean_within, between


def sink_output(model: Any, tokenizer: Any, texts: Sequence[str]) -> pd.DataFrame:
    """D7: is what the first token hands out constant and small?

    Per layer ``l`` and head ``h``: ``u_t = A[t, 0] f(x_0)`` with ``f(x_0) = v_0 W_O^h`` (the
    value through the head's slice of the output projection; grouped-query kv heads are
    expanded to query heads), and the head output ``o_t = sum_k A[t, k] f(x_k)``, for
    ``t >= 1``.

    Parameters
    ----------
    model : transformers.PreTrainedModel
        Decoder-only or encoder-only model of the GPT-2, Llama or BERT families.
    tokenizer : transformers tokenizer
    texts : sequence of str
        One or more inputs (two or more for ``cos_inputs``).

    Returns
    -------
    pandas.DataFrame
        One row per ``(layer, head)``:

        * ``attn0``: mean over t >= 1 and inputs of ``A[t, 0]``;
        * ``cos_positions``: mean cosine between ``u_t`` and ``u_s`` (t != s) of the same
          input, averaged over inputs (1 whenever ``A[t, 0] > 0``, since ``u_t`` is a
          multiple of one vector);
        * ``cos_inputs``: mean cosine between ``u_t`` of different inputs (NaN for one
          input); 1 when ``f(x_0)`` does not depend on the text;
        * ``norm_ratio``: mean over t >= 1 and inputs of ``||u_t|| / ||o_t||``.

        Plus ``model``, ``T`` (longest input), ``bos_added``; ``df.attrs["setting"]``.
    """
    if isinstance(texts, str) or len(texts) == 0:
        raise ValueError("Pass a list of one or more texts (two or more to compare inputs).")
    sites = self_sites(model)
    encoded = [encode(model, tokenizer, t) for t in texts]
    if any(e.T < 2 for e in encoded):
        raise ValueError("Every text needs at least 2 tokens (D7 looks at positions t >= 1).")
    per_input = []  # each: (sums [L, H, D], counts [L, H], attn0 [L, H], ratio [L, H])
    with eager_attention(model), torch.inference_mode():
        for enc in encoded:
            with Recorder(sites, values=True) as rec:
                model(**inputs_for(model, enc.ids))
            sums, counts, attn0, ratio = [], [], [], []
            for layer in range(len(sites)):
                w = torch.from_numpy(rec.weights[layer])  # type: ignore[arg-type]
                f = rec.head_values(layer)  # [H, T, D]
                col = w[:, 1:, 0]  # [H, T-1]
                u = col[..., None] * f[:, :1]  # [H, T-1, D]
                o = w[:, 1:] @ f  # [H, T-1, D]
                un = u.norm(dim=-1)
                unit = torch.where(un[..., None] > 0, u / un.clamp_min(1e-30)[..., None], 0.0)
                sums.append(unit.sum(1).double().numpy())
                counts.append((un > 0).sum(1).double().numpy())
                attn0.append(col.mean(1).numpy())
                ratio.append((un / o.norm(dim=-1).clamp_min(1e-30)).mean(1).numpy())
            per_input.append(tuple(np.stack(x) for x in (sums, counts, attn0, ratio)))
    sums = np.stack([p[0] for p in per_input], axis=1)  # [L, N, H, D]
    counts = np.stack([p[1] for p in per_input], axis=1)  # [L, N, H]
    attn0 = np.mean([p[2] for p in per_input], axis=0)  # [L, H]
    ratio = np.mean([p[3] for p in per_input], axis=0)
    rows = []
    for layer in range(len(sites)):
        within, between = _mean_pair_cosine(sums[layer], counts[layer])
        for head in range(attn0.shape[1]):
            rows.append(
                {
                    "layer": layer,
                    "head": head,
                    "attn0": float(attn0[layer, head]),
                    "cos_positions": float(within[head]),
                    "cos_inputs": float(between[head]),
                    "norm_ratio": float(ratio[layer, head]),
                }
            )
    setting = {
        "diagnostic": "D7 sink output constancy",
        "model": model_name(model),
        "T": max(e.T for e in encoded),
        "T_per_input": [e.T for e in encoded],
        "bos_added": any(e.bos_added for e in encoded),
        "n_inputs": len(encoded),
    }
    return frame(rows, setting)
