"""Analysis layer (explain): run every pass over a corpus and keep per-text measurements.

``collect(model, tokenizer, texts, T)`` returns a :class:`Measurements`: one row per text for
every diagnostic (D1-D12 of SCIENCE.md), so that the tables can give each number with n and a
bootstrap interval over texts. Positions used as controls:

* ``p_ctrl = T // 4``: a content position seen by 3T/4 queries (D3, D6, D7 controls);
* per text, a ``random`` position and the ``median``-attention position, both in
  ``[1, T/2)``: the D8 baselines. D8 losses are read on the second half of the text (targets
  ``T/2 + 1 .. T - 1``), which every edited position precedes, so all edits are compared on
  the same predictions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ..analysis import metrics
from ..capture.naming import model_name
from .mechanisms import layer_alpha, massive_edit, massive_onset, over_mixing, repeated_tokens
from .passes import forward, has_lm_head, kl, residual, to_numpy, token_nll, tokenize_corpus
from .probe import Edit, LayerStats, probe

D8_EDITS = ("mask", "remove_zero", "remove_mean", "zero_value")
D8_POSITIONS = ("first", "random", "median")


@dataclass
class Measurements:
    """Per-text arrays (first axis: texts) and the setting they were measured in."""

    model: str
    T: int
    causal: bool
    bos_added: bool
    first_tokens: list[str]
    lm: bool
    n_layers: int
    n_heads: int
    p_ctrl: int
    per_text: dict[str, np.ndarray] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def add(self, key: str, value: np.ndarray) -> None:
        old = self.per_text.get(key)
        self.per_text[key] = value if old is None else np.concatenate([old, value])


def _stack(layers: dict[int, LayerStats], name: str) -> torch.Tensor:
    return torch.stack([getattr(layers[l], name) for l in sorted(layers)], 1)  # [B, L, ...]


def _head_stats(m: Measurements, layers: dict[int, LayerStats]) -> np.ndarray:
    """D1-D4 and D7 per text from one measured pass; returns alpha ``[B, L, H, T]``."""
    A = _stack(layers, "A")  # [B, L, H, T, T]
    T = A.shape[-1]
    counts = torch.tensor(metrics.query_counts(T, T, m.causal))
    alpha = A.sum(-2) / counts  # D1 [B, L, H, T]
    fn = _stack(layers, "fnorm")  # [B, L, H, T]
    N = A * fn[..., None, :]
    share = N / N.sum(-1, keepdim=True).clamp_min(1e-30)  # D3
    raw1, norm1 = A[..., 1:, 0].mean(-1), share[..., 1:, 0].mean(-1)
    keys = torch.arange(1, max(2, T // 2))
    later = torch.arange(T)[:, None] > keys[None, :]  # [T, K] queries after each key
    a_k = (A[..., keys] * later).sum(-2)
    n_k = (share[..., keys] * later).sum(-2)
    ratio_c = (n_k / a_k.clamp_min(1e-30)).median(-1).values
    vn, kn = _stack(layers, "vnorm"), _stack(layers, "knorm")
    ent = -(A.clamp_min(1e-30).log() * A).sum(-1) / np.log(T)  # row entropy [B, L, H, T]
    for key, value in {
        "alpha0": alpha[..., 0],
        "alpha_last": alpha[..., -1],
        "raw1": raw1,
        "norm1": norm1,
        "d3_ratio0": norm1 / raw1.clamp_min(1e-30),
        "d3_ratio_ctrl": ratio_c,
        "vdrain": vn[..., 0] / vn[..., 1:].mean(-1),
        "kdrain": kn[..., 0] / kn[..., 1:].mean(-1),
        "cos0": _stack(layers, "cos0"),
        "cos_other": _stack(layers, "cos_other"),
        "margin": _stack(layers, "margin"),
        "entropy_row0": ent[..., 0],
        "entropy_rows": ent[..., 1:].median(-1).values,
        "u_share": _stack(layers, "u_share"),  # [B, L, 2]: first, control
    }.items():
        m.add(key, to_numpy(value))
    m.extra.setdefault("u_dir", []).append(_stack(layers, "u_dir").numpy())  # [B, L, 2, hidden]
    return alpha.numpy()


def _residual_stats(m: Measurements, hidden: list[torch.Tensor]) -> None:
    """D5 per text: residual peak and massive-activation flags of position 0 per layer."""
    h = torch.stack(hidden, 1)  # [B, L + 1, T, hidden]
    norms = h.norm(dim=-1)
    absval = h.abs()
    med = absval.flatten(2).median(-1).values  # [B, L + 1]
    top = absval[:, :, 0].amax(-1)
    m.add("residual_peak0", to_numpy(norms[..., 0] / norms.median(-1).values))
    m.add("massive0", to_numpy((top > metrics.MASSIVE_ABS) & (top > metrics.MASSIVE_RATIO * med)))
    m.add("h0_absmax", to_numpy(top))
    m.add("hidden_median", to_numpy(med))
    m.extra.setdefault("h0", []).append(h[:, :, 0].numpy())  # [B, L + 1, hidden]


def _positions(alpha: np.ndarray, rng: np.random.Generator, T: int) -> dict[str, tuple]:
    """D8 positions per text: first, a random one and the median-attention one in [1, T/2)."""
    half = max(2, T // 2)
    score = alpha[..., 1:half].mean((1, 2))  # [B, half - 1], head and layer mean
    order = np.argsort(score, axis=-1)
    median = order[:, order.shape[1] // 2] + 1
    random = rng.integers(1, half, size=len(alpha))
    return {
        "first": (0,) * len(alpha),
        "random": tuple(int(x) for x in random),
        "median": tuple(int(x) for x in median),
    }


def collect(
    model: Any,
    tokenizer: Any,
    texts: Sequence[str],
    T: int = 64,
    batch_size: int = 16,
    n_edit: int | None = None,
    seed: int = 0,
    progress: Callable[[int], object] | None = None,
) -> Measurements:
    """Measure ``texts`` at length ``T``; run the edited passes on the first ``n_edit`` texts.

    ``progress(k)`` is called as work is done; all calls add up to ``len(texts) + 2 n_edit``.
    """
    ids, bos = tokenize_corpus(model, tokenizer, texts, T)
    n_edit = len(ids) if n_edit is None else max(1, min(int(n_edit), len(ids)))
    if getattr(model.config, "is_encoder_decoder", False):
        raise TypeError(
            f"{type(model).__name__} is an encoder-decoder model; explain() measures "
            "decoder-only or encoder-only models. Use capture() for encoder-decoder attention."
        )
    causal = _model_is_causal(model, ids[:1])
    lm = has_lm_head(model) and causal  # a masked-LM head gives no next-token loss
    name = model_name(model)
    m = Measurements(
        model=name,
        T=T,
        causal=causal,
        bos_added=bos,
        first_tokens=[tokenizer.convert_ids_to_tokens(int(i)) for i in ids[:, 0]],
        lm=lm,
        n_layers=0,
        n_heads=0,
        p_ctrl=T // 4,
    )
    rng = np.random.default_rng(seed)
    half = T // 2
    targets = ids[:, half + 1 :]
    with probe(model, causal) as p:
        p.out_positions = (0, m.p_ctrl)
        for start in range(0, len(ids), batch_size):
            batch = ids[start : start + batch_size]
            p.reset(measure=True)
            hidden: list[torch.Tensor] = []
            with residual(model, record=hidden):
                base = forward(model, batch, T - half if lm else None)
            m.n_layers, m.n_heads = len(p.layers), int(p.layers[0].A.shape[1])
            alpha = _head_stats(m, p.layers)
            _residual_stats(m, hidden)
            if base is not None:
                base = base[:, :-1]
                m.add("loss_base", to_numpy(token_nll(base, targets[start : start + len(batch)])))
            k = max(0, min(len(batch), n_edit - start))  # texts of this batch that are edited
            if k:
                sub, hid = batch[:k], [h[:k] for h in hidden]
                _invariance(m, model, p, sub, ids, start, hid)
                if base is not None:
                    tgt = targets[start : start + k]
                    _ablations(m, model, p, sub, base[:k], tgt, alpha[:k], rng)
                _relocation(m, model, p, tokenizer, sub, alpha[:k])
                over_mixing(m, model, p, sub, hid, seed + start)
            if progress is not None:
                progress(len(batch) + k)
        onset = massive_onset(m)
        m.extra["d10"] = onset
        if onset is not None:
            massive_edit(m, model, p, ids[:n_edit], onset, batch_size)
        repeated_tokens(m, model, p, ids)
        if progress is not None:
            progress(n_edit)
    return m


def _model_is_causal(model: Any, ids: torch.Tensor) -> bool:
    """Whether ``model`` attends causally: runs one pass and applies :func:`metrics.is_causal`
    to every layer's weights."""
    with probe(model, True) as p:
        p.reset(weights_only=True)
        forward(model, ids, None)
        return all(metrics.is_causal(w.numpy()) for w in p.layers.values())


def _invariance(
    m: Measurements,
    model: Any,
    p: Any,
    batch: torch.Tensor,
    ids: torch.Tensor,
    start: int,
    hidden: list[torch.Tensor],
) -> None:
    """D6: keep positions ``0..q``, take the rest from the next text; ``||Δh_q|| / ||h_q||``."""
    n = len(ids)
    other = ids[[(start + i + 1) % n for i in range(len(batch))]]
    changes = []
    for q in (0, m.p_ctrl):
        mixed = torch.cat([batch[:, : q + 1], other[:, q + 1 :]], 1)
        p.reset()
        b: list[torch.Tensor] = []
        with residual(model, record=b):
            forward(model, mixed, None)
        ha, hb = torch.stack(hidden, 1)[:, :, q], torch.stack(b, 1)[:, :, q]  # [B, L + 1, hidden]
        changes.append((ha - hb).norm(dim=-1) / ha.norm(dim=-1).clamp_min(1e-30))
    m.add("d6_change", to_numpy(torch.stack(changes, 1)))  # [B, 2 (first, control), L + 1]


def _ablations(
    m: Measurements,
    model: Any,
    p: Any,
    batch: torch.Tensor,
    base: torch.Tensor,
    targets: torch.Tensor,
    alpha: np.ndarray,
    rng: np.random.Generator,
) -> None:
    """D8: Δloss and KL of every edit at the first, a random and the median position."""
    keep = m.T - m.T // 2 - 1
    loss0 = token_nll(base, targets)
    positions = _positions(alpha, rng, m.T)
    for where, pos in positions.items():
        m.add(f"d8_pos_{where}", np.asarray(pos, dtype=np.float64))
        for kind in D8_EDITS:
            p.reset(edit=Edit(kind, pos))
            logits = forward(model, batch, keep + 1)
            assert logits is not None
            logits = logits[:, :-1]
            m.add(f"d8_{kind}_{where}_dloss", to_numpy(token_nll(logits, targets) - loss0))
            m.add(f"d8_{kind}_{where}_kl", to_numpy(kl(base, logits)))


def _relocation(
    m: Measurements, model: Any, p: Any, tokenizer: Any, batch: torch.Tensor, alpha: np.ndarray
) -> None:
    """D9: drop the first token; replace it by a newline. Head- and layer-mean alpha at 0."""
    m.add("d9_alpha0_original", alpha[..., 0].mean((1, 2)).astype(np.float64))
    m.add("d9_alpha1_original", alpha[..., 1].mean((1, 2)).astype(np.float64))
    newline = tokenizer("\n", add_special_tokens=False)["input_ids"]
    variants = {"drop_first": batch[:, 1:]}
    if len(newline) == 1:
        variants["newline_first"] = torch.cat(
            [torch.full_like(batch[:, :1], newline[0]), batch[:, 1:]], 1
        )
    half = m.T // 2
    for name, ids in variants.items():
        p.reset(weights_only=True)
        logits = forward(model, ids, m.T - half if m.lm else None)
        al = layer_alpha(p.layers, m.causal).mean((1, 2))  # [B, T']
        m.add(f"d9_{name}_alpha0", to_numpy(al[:, 0]))
        if name == "drop_first" and logits is not None:
            # same targets as the base pass (tokens half + 1 .. T - 1), one position earlier
            targets = batch[:, half + 1 :]
            m.add("d9_drop_first_loss", to_numpy(token_nll(logits[:, :-1], targets)))
