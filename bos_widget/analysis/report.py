"""Metrics layer (tables): ``sink_report`` turns a run into a per-head table and a summary.

Reads an ``AttentionRun`` and calls the pure functions of ``metrics``; imports no torch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..run import AttentionRun
from . import metrics


@dataclass(frozen=True)
class SinkReport:
    """Per-head sink table, per-layer table and a short text summary of one run.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per (layer, head): ``sink_score_0`` (D1 at position 0), ``top_sink`` and
        ``top_sink_score`` (the key with the largest D1 among keys
        that at least ``metrics.MIN_SUPPORT`` queries see), ``sink_head`` (score > eps),
        ``raw_share_0`` and ``norm_share_0`` (mean raw attention and D3 norm-weighted share on
        position 0, both over queries ``q >= 1``, so that they compare with each other; the
        causal query 0 can only attend to itself, and ``sink_score_0`` includes it),
        ``value_drain`` / ``key_drain`` (D4; keys as the key projection gives them, before
        any QK-norm: ``bos_widget.explain`` measures them as attention uses them).
        Runs with learned sink logits (gpt-oss) add ``slot_score`` (the sink slot's D1,
        :func:`metrics.slot_scores`: mean ``p_sink`` over every query) and ``slot_sink``
        (``slot_score > eps``): the slot counts as a key of its own, never as a token.
    layers : pandas.DataFrame
        One row per layer: mean sink score of position 0, share of sink heads, residual peak
        of position 0 (D5) and whether position 0 holds a massive activation.
    summary : str
    eps : float
    """

    table: pd.DataFrame
    layers: pd.DataFrame
    summary: str
    eps: float

    def __str__(self) -> str:
        return self.summary

    def _repr_html_(self) -> str:
        from html import escape

        return f"<p>{escape(self.summary)}</p>" + self.layers.to_html(index=False)


def _per_layer(values: np.ndarray, n_layers: int) -> np.ndarray:
    """``values`` when it has one entry per layer, else NaN (the model reports otherwise)."""
    if len(values) == n_layers:
        return values
    return np.full(n_layers, np.nan, dtype=np.float32)


def sink_report(run: AttentionRun, eps: float = 0.3) -> SinkReport:
    """Measure the sinks of ``run`` at threshold ``eps``.

    Parameters
    ----------
    run : AttentionRun
    eps : float
        Sink threshold in [0, 1] (0.3 is Gu et al.'s published setting).
    """
    if not 0.0 <= eps <= 1.0:
        raise ValueError(f"eps must lie in [0, 1], got {eps}.")
    L, H, T = run.n_layers, run.n_heads, run.T
    causal = run.meta.causal
    norm_share0 = np.full((L, H), np.nan, dtype=np.float32)
    raw_share0 = np.full((L, H), np.nan, dtype=np.float32)
    kept = run.measured or run.summary  # measured layer by layer at capture
    if kept is not None:
        alpha = kept.sink_scores  # [L, H, T]
        if T > 1 and (causal or run.summary is None):
            # alpha0 * T sums every query's attention to key 0; take query 0's own away
            # (exactly 1 in a causal model; one cell of the map otherwise)
            a00 = (
                np.ones((L, H), np.float32)
                if causal
                else np.array(
                    [
                        [run.slice(l, h, queries=(0, 1), keys=(0, 1))[0, 0] for h in range(H)]
                        for l in range(L)
                    ]
                )
            )
            raw_share0 = (alpha[..., 0] * T - a00) / (T - 1)
        if kept.norm_share0 is not None:
            norm_share0 = kept.norm_share0
    else:
        att = run.require_attention()
        alpha = metrics.sink_scores(att, causal)  # [L, H, T]
        column = att[..., :, 0].astype(np.float32)  # [L, H, T_q]
        raw_share0 = column[..., 1:].mean(axis=-1) if T > 1 else column[..., 0]
        if run.output_norms is not None:
            share0 = np.stack(
                [metrics.norm_weighted(att[l], run.output_norms[l])[..., 0] for l in range(L)]
            )  # [L, H, T_q]
            norm_share0 = share0[..., 1:].mean(axis=-1) if T > 1 else share0[..., 0]
    value_drain = (
        metrics.drain_ratio(run.value_norms)
        if run.value_norms is not None
        else np.full((L, H), np.nan)
    )
    key_drain = (
        metrics.drain_ratio(run.key_norms) if run.key_norms is not None else np.full((L, H), np.nan)
    )
    # strongest sink per head, among keys that enough queries see (metrics.MIN_SUPPORT)
    supported = np.where(metrics.supported_keys(T, causal), alpha, -1.0)
    top = supported.argmax(axis=-1)
    layer_idx, head_idx = np.meshgrid(np.arange(L), np.arange(H), indexing="ij")
    table = pd.DataFrame(
        {
            "layer": layer_idx.ravel(),
            "head": head_idx.ravel(),
            "sink_score_0": alpha[..., 0].ravel(),
            "top_sink": top.ravel(),
            "top_sink_score": np.take_along_axis(alpha, top[..., None], -1).ravel(),
            "sink_head": (alpha[..., 0] > eps).ravel(),
            "raw_share_0": np.asarray(raw_share0).ravel(),
            "norm_share_0": np.asarray(norm_share0).ravel(),
            "value_drain": np.asarray(value_drain).ravel(),
            "key_drain": np.asarray(key_drain).ravel(),
        }
    )
    slot = run.slot_scores()  # [L, H] or None
    if slot is not None:
        table["slot_score"] = slot.ravel()
        table["slot_sink"] = (slot > eps).ravel()
    peak = (
        metrics.residual_peak(run.hidden_norms)[1:]
        if run.hidden_norms is not None
        else np.full(L, np.nan, dtype=np.float32)
    )
    if run.hidden_max_abs is not None and run.hidden_median_abs is not None:
        massive = metrics.massive_activations(run.hidden_max_abs, run.hidden_median_abs)[1:, 0]
    else:
        massive = np.zeros(L, dtype=bool)
    layers = pd.DataFrame(
        {
            "layer": np.arange(L),
            "sink_score_0": alpha[..., 0].mean(axis=-1),
            "sink_heads": (alpha[..., 0] > eps).mean(axis=-1),
            "residual_peak_0": _per_layer(peak, L),
            "massive_0": _per_layer(massive, L),
        }
    )
    rate = metrics.sink_rate(alpha[..., 0], eps)
    strongest = np.bincount(top.ravel(), minlength=T)
    m = run.meta
    added = (
        f"a {m.first_token!r} token was added at position 0"
        if m.bos_added
        else "no BOS/[CLS] added"
    )
    summary = (
        f"{m.model}: {L} layers x {H} heads, T={T}, "
        f"{'causal' if causal else 'bidirectional'}, {added}. "
        f"Sink rate at eps={eps}: {rate:.0%} of heads put more than {eps} mean attention on "
        f"position 0 ({run.tokens[0]!r}); position {int(strongest.argmax())} is the strongest "
        f"sink in {int(strongest.max())} of {L * H} heads."
    )
    if slot is not None:
        layers["slot_score"] = slot.mean(axis=-1)
        summary += (
            f" Learned sink logits: the sink slot (not a token) takes {slot.mean():.2f} of each "
            f"row's mass on average (rows of A sum to 1 - p_sink) and is a sink (alpha > {eps}) "
            f"in {int((slot > eps).sum())} of {L * H} heads."
        )
    return SinkReport(table=table, layers=layers, summary=summary, eps=eps)
