"""Run layer: ``AttentionRun``, the one frozen object every later stage reads.

``capture`` produces it; ``metrics``, ``codec`` and ``widget`` only read it. It holds numpy
arrays (no torch tensors) so that everything downstream works without torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


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
        seq2seq decoder's self-attention, ``"cross"`` for its cross-attention.
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


@dataclass(frozen=True)
class SinkSummary:
    """What a capture keeps when every attention map would not fit in memory.

    Summary mode (``capture(..., keep="summary")``, chosen automatically for long inputs)
    measures each layer as the model produces it and keeps only what the sink metrics and
    the mean-of-heads view need; the per-head ``[T, T]`` maps are dropped.

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
        A sentence saying what was not kept and why (shown in the widget).
    """

    sink_scores: np.ndarray
    norm_first: np.ndarray | None
    norm_share0: np.ndarray | None
    left_out: str


@dataclass(frozen=True)
class AttentionRun:
    """Tokens, attention and side measurements of one forward pass.

    Attributes
    ----------
    tokens : tuple of str
        Readable display strings, one per position (``T`` of them).
    token_ids : tuple of int
        Raw vocabulary ids.
    attention : np.ndarray or None
        float16 ``[L, H, T_q, T_k]``; rows (last axis) sum to 1. ``T_q == T_k == T`` except for
        cross-attention. ``None`` in summary mode (then ``summary`` is set); use
        :meth:`require_attention` where the per-head maps are needed.
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
        float32 ``[L, H, T]``, ``||k_k||`` of the key projection (before rotary embedding,
        which preserves norms).
    output_norms : np.ndarray or None
        float32 ``[L, H, T]``, ``||v_k W_O^h||`` — the value through the head's slice of the
        output projection, ``f(x_k)`` in SCIENCE.md D3.
    decoder : AttentionRun or None
        For encoder-decoder models, the decoder's run (its ``cross_attention`` is set).
    cross_attention : np.ndarray or None
        float16 ``[L, H, T_dec, T_enc]``, only on a decoder run.
    summary : SinkSummary or None
        Set in summary mode, when the per-head maps were not kept.
    head_mean : np.ndarray or None
        float16 ``[L, T, T]``: the mean over heads of each layer's attention, measured at
        capture (the view's default slice; required in summary mode). ``None`` for runs built
        from arrays: then it is computed when asked for.
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

    def __post_init__(self) -> None:
        att = self.attention
        if att is None:
            if self.summary is None or self.head_mean is None:
                raise ValueError(
                    "An AttentionRun needs attention maps, or a summary and head means."
                )
            shape = (*self.summary.sink_scores.shape, len(self.tokens))
        else:
            if att.ndim != 4:
                raise ValueError(f"attention must have shape [L, H, T, T], got {att.shape}.")
            shape = att.shape
        if shape[2] != len(self.tokens) or shape[3] != len(self.tokens):
            raise ValueError(
                f"attention covers {shape[2]} x {shape[3]} positions but there are "
                f"{len(self.tokens)} tokens; pass one token string per position."
            )
        if len(self.token_ids) not in (0, len(self.tokens)):
            raise ValueError("token_ids must be empty or have one id per token.")
        for name in ("value_norms", "key_norms", "output_norms"):
            arr = getattr(self, name)
            if arr is not None and arr.shape != tuple(shape[:3]):
                raise ValueError(f"{name} must have shape {shape[:3]}, got {arr.shape}.")
        mean_shape = (shape[0], shape[2], shape[3])
        if self.head_mean is not None and self.head_mean.shape != mean_shape:
            raise ValueError(f"head_mean must have shape {mean_shape}, got {self.head_mean.shape}.")

    def require_attention(self) -> np.ndarray:
        """The per-head maps ``[L, H, T, T]``; raises ``ValueError`` in summary mode."""
        if self.attention is None:
            left = self.summary.left_out if self.summary else ""
            raise ValueError(
                f"{left} This needs every head's attention map: capture with "
                "keep='all' (needs the memory) or fewer tokens (max_tokens=...)."
            )
        return self.attention

    @property
    def n_layers(self) -> int:
        if self.attention is None:
            assert self.summary is not None
            return int(self.summary.sink_scores.shape[0])
        return int(self.attention.shape[0])

    @property
    def n_heads(self) -> int:
        if self.attention is None:
            assert self.summary is not None
            return int(self.summary.sink_scores.shape[1])
        return int(self.attention.shape[1])

    @property
    def T(self) -> int:  # noqa: N802 (the papers' name)
        if self.attention is None:
            return len(self.tokens)
        return int(self.attention.shape[-1])

    def __repr__(self) -> str:
        m = self.meta
        return (
            f"AttentionRun(model={m.model!r}, {self.n_layers} layers x {self.n_heads} heads, "
            f"T={self.T}, causal={m.causal}, bos_added={m.bos_added}, role={m.role!r}"
            + (", summary mode" if self.summary is not None else "")
            + ")"
        )
