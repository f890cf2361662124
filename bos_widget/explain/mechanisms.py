"""Analysis layer (explain): the mechanisms the literature names, measured (D10, D11, D12).

* D10 massive activation -> sink (Sun et al. 2024): find the first layer whose output puts a
  massive activation in ``h_0`` in most texts; set those dimensions of ``h_0`` to zero, and
  separately to their corpus mean, at that layer; read alpha at position 0 in the later
  layers and the next-token loss.
* D11 repeated tokens (Gu et al. 2025): one token ``T`` times, no special tokens; the sink
  rate and alpha at position 0 against the other early positions.
* D12 over-mixing (Barbero et al. 2025): add a small perturbation to one token's embedding and
  follow ``||Δh_t|| / ||h_t||`` of the later tokens layer by layer, with the sink intact and
  with key 0 masked in every layer.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..analysis import metrics
from .passes import forward, residual, to_numpy, token_nll
from .probe import Edit, Probe

D12_SCALE = 0.1  # perturbation norm, as a fraction of the token's embedding norm


def layer_alpha(layers: dict[int, Any], causal: bool) -> torch.Tensor:
    """D1 per text from weights-only layers: ``[B, L, H, T]``."""
    A = torch.stack([layers[l] for l in sorted(layers)], 1).float()
    T = A.shape[-1]
    return A.sum(-2) / torch.tensor(metrics.query_counts(T, T, causal))


def massive_onset(m: Any) -> dict[str, Any] | None:
    """D10 set-up from the measured pass: onset layer, dimensions and their corpus mean.

    Returns ``None`` when no layer output holds a massive activation in ``h_0`` in at least
    half of the texts. ``layer`` counts block outputs from 1 (0 is the embedding).
    """
    flags = m.per_text["massive0"]  # [n, L + 1]
    hit = np.flatnonzero(flags[:, 1:].mean(0) >= 0.5)
    if hit.size == 0:
        return None
    layer = int(hit[0]) + 1
    h0 = np.concatenate(m.extra["h0"])[:, layer]  # [n, hidden]
    med = m.per_text["hidden_median"][:, layer].mean()
    size = np.abs(h0).mean(0)
    dims = np.flatnonzero((size > metrics.MASSIVE_ABS) & (size > metrics.MASSIVE_RATIO * med))
    if dims.size == 0:
        dims = np.array([int(size.argmax())])
    return {"layer": layer, "dims": dims.tolist(), "mean": h0[:, dims].mean(0)}


def massive_edit(
    m: Any, model: Any, p: Probe, ids: torch.Tensor, onset: dict[str, Any], batch_size: int
) -> None:
    """D10 passes: ``h_0[dims]`` set to zero / to the corpus mean after block ``layer - 1``."""
    dims = torch.tensor(onset["dims"])
    half = m.T // 2
    for mode in ("zero", "mean"):
        value = torch.zeros(len(dims)) if mode == "zero" else torch.tensor(onset["mean"])

        def edit(h: torch.Tensor, value: torch.Tensor = value) -> None:
            h[:, 0, dims] = value.to(h.dtype).to(h.device)

        for start in range(0, len(ids), batch_size):
            batch = ids[start : start + batch_size]
            p.reset(weights_only=True)
            with residual(model, edit_layer=onset["layer"] - 1, edit=edit):
                logits = forward(model, batch, m.T - half if m.lm else None)
            alpha = layer_alpha(p.layers, m.causal)[:, onset["layer"] :, :, 0].mean((1, 2))
            m.add(f"d10_{mode}_alpha0", to_numpy(alpha))
            if logits is not None:
                loss = token_nll(logits[:, :-1], batch[:, half + 1 :])
                m.add(f"d10_{mode}_loss", to_numpy(loss))


def repeated_tokens(m: Any, model: Any, p: Probe, ids: torch.Tensor, n: int = 16) -> None:
    """D11: the first content token of ``n`` texts, each repeated ``T`` times."""
    column = 1 if m.bos_added else 0
    tokens = list(dict.fromkeys(int(t) for t in ids[:, column]))[:n]
    batch = torch.tensor([[t] * m.T for t in tokens])
    p.reset(weights_only=True)
    forward(model, batch, None)
    alpha = layer_alpha(p.layers, m.causal)  # [B, L, H, T]
    half = max(2, m.T // 2)
    m.extra["d11"] = {
        "tokens": tokens,
        "alpha0_heads": to_numpy(alpha[..., 0]),  # [B, L, H]
        "alpha0": to_numpy(alpha[..., 0].mean((1, 2))),
        "alpha_rest": to_numpy(alpha[..., 1:half].mean((1, 2, 3))),
    }


def over_mixing(
    m: Any, model: Any, p: Probe, batch: torch.Tensor, hidden: list[torch.Tensor], seed: int
) -> None:
    """D12: spread of a perturbation of token ``p_ctrl`` per layer, sink intact / key 0 masked."""
    q = m.p_ctrl
    gen = torch.Generator().manual_seed(seed)
    noise = torch.randn(len(batch), model.config.hidden_size, generator=gen)

    def perturb(e: torch.Tensor) -> torch.Tensor:
        d = noise.to(e.dtype).to(e.device)
        d = d / d.norm(dim=-1, keepdim=True) * e[:, q].norm(dim=-1, keepdim=True) * D12_SCALE
        e[:, q] = e[:, q] + d
        return e

    later = [t for t in range(m.T) if (t > q if m.causal else t != q)]
    spreads = {}
    for label, edit in (("intact", None), ("masked", Edit("mask", (0,) * len(batch)))):
        if edit is None:
            clean = hidden
        else:
            clean = []
            p.reset(edit=edit)
            with residual(model, record=clean):
                forward(model, batch, None)
        moved: list[torch.Tensor] = []
        p.reset(edit=edit)
        with residual(model, record=moved, perturb=perturb):
            forward(model, batch, None)
        a, b = torch.stack(clean, 1)[:, :, later], torch.stack(moved, 1)[:, :, later]
        rel = (a - b).norm(dim=-1) / a.norm(dim=-1).clamp_min(1e-30)  # [B, L + 1, T']
        spreads[label] = rel.mean(-1)
    m.add("d12_intact", to_numpy(spreads["intact"]))
    m.add("d12_masked", to_numpy(spreads["masked"]))
