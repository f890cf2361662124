"""Run layer: ``AttentionRun``, the one frozen object every later stage reads.

``capture`` produces it; ``metrics``, ``codec`` and ``widget`` only read it. It holds numpy
arrays (no torch tensors) so that everything downstream works without torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from . import metrics

if TYPE_CHECKING:
    from .factors import Factors


@dataclass(frozen=True)
class RunMeta:
    """What a figure must say about where its numbers came from.

    Attributes
    ----------
    model : str
        Model name (hub id or demo name).
    model_class : str
        Python class of the model, e.g. ``"LlamaForCausalLM"``.
    causal : bool
        True when queries only see keys at or before their own position.
    bos_added : bool
        True when the tokenizer put a special token (BOS, [CLS], ...) at position 0.
    first_token : str
        Display text of the token at position 0.
    role : str
        ``"self"`` for the model's (encoder or decoder) self-attention, ``"decoder"`` for a
        seq2seq decoder's self-attention, ``"cross"`` for its cross-attention (decoder
        queries, encoder keys: ``run.query_tokens`` are the decoder's tokens).
    n_kv_heads : int
        Key/value heads per layer (fewer than query heads under grouped-query attention).
    attn_implementation : str
        The implementation the model had before capture (restored afterwards).
    segment_b_start : int or None
        Position of the first token of ``text_pair``, if one was given.
    last_hidden : str
        What the last row of the hidden-state stats is: ``"last block output (before the
        final norm)"`` where the model has a final norm (transformers' last ``hidden_states``
        entry follows it), ``"last block output"`` where it has none (BERT), transformers'
        own last entry where the last block could not be located; ``""`` for runs without
        hidden states.
    path : str
        How attention was had: ``"factors"`` (q and k recorded inside the model's own
        attention implementation; slices recomputed exactly on demand), ``"eager"`` (the model
        was switched to eager attention and every map was copied: the fallback for models
        whose attention cannot be rebuilt from q and k), or ``"arrays"`` (maps handed in).
    path_note : str
        Why an automatic capture fell back to the eager path (``""`` otherwise).
    """

    model: str
    model_class: str
    causal: bool
    bos_added: bool
    first_token: str
    role: str = "self"
    n_kv_heads: int = 0
    attn_implementation: str = "eager"
    segment_b_start: int | None = None
    last_hidden: str = ""
    path: str = "arrays"
    path_note: str = ""


@dataclass(frozen=True)
class SinkSummary:
    """Sink measurements made layer by layer at capture, from the exact attention.

    Factor runs (``meta.path == "factors"``) carry one as ``run.measured``: every score comes
    from the float32 attention the model itself used, computed blockwise, never from a stored
    map. Summary mode (the eager fallback for long inputs, ``run.summary``) keeps one in place
    of the per-head ``[T, T]`` maps it dropped.

    Attributes
    ----------
    sink_scores : np.ndarray
        float32 ``[L, H, T]``: D1 sink score of every key in every head (raw attention).
    norm_first : np.ndarray or None
        float32 ``[L, H]``: D1 at position 0 of norm-weighted attention (D3), mean over all
        queries; ``None`` without value norms.
    norm_share0 : np.ndarray or None
        float32 ``[L, H]``: the norm-weighted share of position 0, mean over queries ``>= 1``
        (what ``sink_report`` calls ``norm_share_0``).
    left_out : str
        Summary mode: a sentence saying what was not kept and why (shown in the widget);
        ``""`` when nothing was left out.
    """

    sink_scores: np.ndarray
    norm_first: np.ndarray | None
    norm_share0: np.ndarray | None
    left_out: str = ""


# run.attention is filled from the factors only below this many bytes of float16 maps
MAPS_LIMIT = 4 * 2**30


@dataclass(frozen=True)
class AttentionRun:
    """Tokens, attention and side measurements of one forward pass.

    Attention is held in one of three ways (``meta.path``): the factors ``q`` and ``k`` of
    every layer (``factors``, O(T d) memory; any slice is recomputed exactly on demand), the
    maps themselves (``attention``, O(T^2)), or, for the eager fallback on long inputs, only
    the mean of heads and the sink scores (``summary``). Read attention through
    :meth:`slice`, which works for all three; ``attention`` may be ``None``.

    Attributes
    ----------
    tokens : tuple of str
        Readable display strings, one per key position (``T`` of them).
    token_ids : tuple of int
        Raw vocabulary ids.
    attention : np.ndarray or None
        float16 ``[L, H, T_q, T_k]``; rows (last axis) sum to 1. ``T_q == T_k == T`` except for
        cross-attention. ``None`` for factor runs of long inputs and in summary mode; use
        :meth:`require_attention` where every map is needed at once.
    meta : RunMeta
    hidden_norms : np.ndarray or None
        float32 ``[L + 1, T]``, L2 norm of each token's residual stream after embedding and
        after each layer.
    hidden_max_abs : np.ndarray or None
        float32 ``[L + 1, T]``, largest absolute entry of each token's hidden state (D5).
    hidden_median_abs : np.ndarray or None
        float32 ``[L + 1]``, median absolute entry of the layer's hidden states (D5).
    value_norms : np.ndarray or None
        float32 ``[L, H, T]``, ``||v_k||`` per query head (kv heads expanded under GQA).
    key_norms : np.ndarray or None
        float32 ``[L, H, T]``, ``||k_k||``: on factor runs the keys as attention uses them
        (after QK-norm and rotary embedding); on eager runs the key projection's output.
    output_norms : np.ndarray or None
        float32 ``[L, H, T]``, ``||v_k W_O^h||`` — the value through the head's slice of the
        output projection, ``f(x_k)`` in SCIENCE.md D3.
    decoder : AttentionRun or None
        For encoder-decoder models, the decoder's run (its ``cross`` is set).
    cross_attention : np.ndarray or None
        float16 ``[L, H, T_dec, T_enc]``, only on a decoder run (the maps of ``cross``).
    cross : AttentionRun or None
        Only on a decoder run: its cross-attention as a run of its own (``meta.role ==
        "cross"``; decoder queries, encoder keys), which every view reads like any other.
    query_tokens : tuple of str or None
        Runs whose queries are other tokens than their keys (cross-attention): one display
        string per query row (``T_q`` of them); ``None`` when queries are the keys.
    summary : SinkSummary or None
        Set in summary mode, when the per-head maps were not kept and cannot be recomputed.
    head_mean : np.ndarray or None
        float16 ``[L, T, T]``: the mean over heads of each layer's attention, measured at
        capture on the eager path (required in summary mode); otherwise ``None`` and
        computed when asked for.
    factors : Factors or None
        q and k of every layer as attention used them (``bos_widget.factors.Factors``).
    measured : SinkSummary or None
        Sink scores measured at capture from the exact attention (factor runs).
    """

    tokens: tuple[str, ...]
    token_ids: tuple[int, ...]
    attention: np.ndarray | None
    meta: RunMeta
    hidden_norms: np.ndarray | None = None
    hidden_max_abs: np.ndarray | None = None
    hidden_median_abs: np.ndarray | None = None
    value_norms: np.ndarray | None = None
    key_norms: np.ndarray | None = None
    output_norms: np.ndarray | None = None
    decoder: AttentionRun | None = None
    cross_attention: np.ndarray | None = field(default=None, repr=False)
    summary: SinkSummary | None = field(default=None, repr=False)
    head_mean: np.ndarray | None = field(default=None, repr=False)
    factors: Factors | None = field(default=None, repr=False)
    measured: SinkSummary | None = field(default=None, repr=False)
    cross: AttentionRun | None = field(default=None, repr=False)
    query_tokens: tuple[str, ...] | None = field(default=None, repr=False)
    _shape: tuple[int, int, int, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        att = self.attention
        if att is not None:
            if att.ndim != 4:
                raise ValueError(f"attention must have shape [L, H, T, T], got {att.shape}.")
            shape = att.shape
        elif self.factors is not None:
            shape = self.factors.shape
        else:
            if self.summary is None or self.head_mean is None:
                raise ValueError(
                    "An AttentionRun needs attention maps, factors, or a summary and head means."
                )
            shape = (*self.summary.sink_scores.shape, len(self.tokens))
        n_q = len(self.tokens if self.query_tokens is None else self.query_tokens)
        if shape[2] != n_q or shape[3] != len(self.tokens):
            raise ValueError(
                f"attention covers {shape[2]} x {shape[3]} positions but there are "
                f"{n_q} x {len(self.tokens)} tokens; pass one token string per position "
                "(query_tokens for the rows of cross-attention)."
            )
        if len(self.token_ids) not in (0, len(self.tokens)):
            raise ValueError("token_ids must be empty or have one id per token.")
        for name in ("value_norms", "key_norms", "output_norms"):
            arr = getattr(self, name)
            want = (shape[0], shape[1], shape[3])  # per key
            if arr is not None and arr.shape != want:
                raise ValueError(f"{name} must have shape {want}, got {arr.shape}.")
        mean_shape = (shape[0], shape[2], shape[3])
        if self.head_mean is not None and self.head_mean.shape != mean_shape:
            raise ValueError(f"head_mean must have shape {mean_shape}, got {self.head_mean.shape}.")
        object.__setattr__(self, "_shape", tuple(int(n) for n in shape))

    def require_attention(self) -> np.ndarray:
        """Every map at once, float16 ``[L, H, T_q, T]``: the stored maps, or the maps recomputed
        from the factors when they take at most ``MAPS_LIMIT`` bytes. Raises ``ValueError``
        (saying what to do) otherwise."""
        if self.attention is not None:
            return self.attention
        L, H, Tq, Tk = self._shape
        size = 2 * L * H * Tq * Tk
        if self.factors is not None and size <= MAPS_LIMIT:
            return self.factors.maps()
        if self.summary is not None:
            raise ValueError(
                f"{self.summary.left_out} This needs every head's attention map: capture with "
                "keep='all' (needs the memory) or fewer tokens (max_tokens=...)."
            )
        raise ValueError(
            f"Every head's map at T={Tk} would take {size / 1e9:.1f} GB, so this needs too "
            "much memory at once: read one map at a time with run.slice(layer, head), or "
            "capture fewer tokens (max_tokens=...)."
        )

    def slice(
        self,
        layer: int,
        head: int = -1,
        *,
        queries: tuple[int, int] | None = None,
        keys: tuple[int, int] | None = None,
        weighting: str = "raw",
        bins: int | None = None,
        pool: str = "max",
    ) -> np.ndarray:
        """Exact attention of one head (``head=-1``: the mean of heads) of ``layer``.

        Parameters
        ----------
        layer, head : int
        queries, keys : (start, stop), optional
            Half-open ranges of query rows and key columns (default: all).
        weighting : {"raw", "norm"}
            Attention, or the D3 norm-weighted share (rows normalised over every key).
        bins : int, optional
            Pool each axis longer than ``bins`` positions into ``bins`` blocks
            (:func:`metrics.bin_edges`); ``None`` keeps every position.
        pool : {"max", "mean"}
            How a block is pooled; means count masked (zero) cells.

        Returns
        -------
        np.ndarray
            float32 ``[n_q, n_k]``. Factor runs recompute it from q and k in float32, in
            query blocks, on the device the factors live on; no other head is computed
            (except for the mean of heads).
        """
        L, H, Tq, Tk = self._shape
        if not 0 <= layer < L:
            raise ValueError(f"layer must be between 0 and {L - 1}, got {layer}.")
        if not (head == -1 or 0 <= head < H):
            raise ValueError(f"head must be between 0 and {H - 1}, or -1 for the mean, got {head}.")
        q0, q1 = _range(queries, Tq, "queries")
        k0, k1 = _range(keys, Tk, "keys")
        if weighting not in ("raw", "norm"):
            raise ValueError(f"weighting must be 'raw' or 'norm', got {weighting!r}.")
        norms = None
        if weighting == "norm":
            if self.output_norms is None:
                raise ValueError("This run has no value norms, so weighting='norm' is not offered.")
            norms = self.output_norms[layer]
        rows = metrics.bin_edges(q0, q1, bins or q1 - q0)
        cols = metrics.bin_edges(k0, k1, bins or k1 - k0)
        if self.attention is None and self.factors is not None:
            return self.factors.block(layer, head, rows, cols, norms, pool)
        if self.attention is not None:
            att = self.attention[layer] if head == -1 else self.attention[layer, head : head + 1]
            m = att[:, q0:q1].astype(np.float32)  # [H', n_q, T_k]: whole rows (norm shares)
        elif head == -1 and norms is None and self.head_mean is not None:
            m = self.head_mean[layer, None, q0:q1].astype(np.float32)
        else:
            self.require_attention()  # raises with the sentence for this run
            raise AssertionError("unreachable")
        if norms is not None:
            n = norms if head == -1 else norms[head : head + 1]
            m = metrics.norm_weighted(m, n)
        m = m.mean(axis=0) if m.shape[0] > 1 else m[0]
        return metrics.pool(m[:, k0:k1], rows - q0, cols - k0, pool)

    def sink_scores(self) -> np.ndarray:
        """D1 of every key in every head, float32 ``[L, H, T_k]`` (measured at capture where
        it could be; computed from the maps otherwise)."""
        kept = self.measured or self.summary
        if kept is not None:
            return kept.sink_scores
        return metrics.sink_scores(self.require_attention(), self.meta.causal)

    @property
    def n_layers(self) -> int:
        return self._shape[0]

    @property
    def n_heads(self) -> int:
        return self._shape[1]

    @property
    def T(self) -> int:  # noqa: N802 (the papers' name)
        """Number of keys (and of queries, except for cross-attention: :attr:`T_q`)."""
        return self._shape[3]

    @property
    def T_q(self) -> int:  # noqa: N802
        """Number of queries: ``T``, or the decoder's tokens of a cross-attention run."""
        return self._shape[2]

    def __repr__(self) -> str:
        m = self.meta
        return (
            f"AttentionRun(model={m.model!r}, {self.n_layers} layers x {self.n_heads} heads, "
            f"T={self.T}"
            + (f", T_q={self.T_q}" if self.query_tokens is not None else "")
            + f", causal={m.causal}, bos_added={m.bos_added}, role={m.role!r}, "
            f"path={m.path!r}" + (", summary mode" if self.summary is not None else "") + ")"
        )


def _range(span: tuple[int, int] | None, n: int, name: str) -> tuple[int, int]:
    if span is None:
        return 0, n
    a, b = (int(x) for x in span)
    if not 0 <= a < b <= n:
        raise ValueError(f"{name} must be a range (start, stop) with 0 <= start < stop <= {n}.")
    return a, b
