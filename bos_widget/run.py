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


@dataclass(frozen=True)
class AttentionRun:
    """Tokens, attention and side measurements of one forward pass.

    Attributes
    ----------
    tokens : tuple of str
        Readable display strings, one per position (``T`` of them).
    token_ids : tuple of int
        Raw vocabulary ids.
    attention : np.ndarray
        float16 ``[L, H, T_q, T_k]``; rows (last axis) sum to 1. ``T_q == T_k == T`` except for
        cross-attention.
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
    """

    tokens: tuple[str, ...]
    token_ids: tuple[int, ...]
    attention: np.ndarray
    meta: RunMeta
    hidden_norms: np.ndarray | None = None
    hidden_max_abs: np.ndarray | None = None
    hidden_median_abs: np.ndarray | None = None
    value_norms: np.ndarray | None = None
    key_norms: np.ndarray | None = None
    output_norms: np.ndarray | None = None
    decoder: AttentionRun | None = None
    cross_attention: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        att = self.attention
        if att.ndim != 4:
            raise ValueError(f"attention must have shape [L, H, T, T], got {att.shape}.")
        if att.shape[2] != len(self.tokens) or att.shape[3] != len(self.tokens):
            raise ValueError(
                f"attention covers {att.shape[2]} x {att.shape[3]} positions but there are "
                f"{len(self.tokens)} tokens; pass one token string per position."
            )
        if len(self.token_ids) not in (0, len(self.tokens)):
            raise ValueError("token_ids must be empty or have one id per token.")
        for name in ("value_norms", "key_norms", "output_norms"):
            arr = getattr(self, name)
            if arr is not None and arr.shape != att.shape[:3]:
                raise ValueError(f"{name} must have shape {att.shape[:3]}, got {arr.shape}.")

    @property
    def n_layers(self) -> int:
        return int(self.attention.shape[0])

    @property
    def n_heads(self) -> int:
        return int(self.attention.shape[1])

    @property
    def T(self) -> int:  # noqa: N802 (the papers' name)
        return int(self.attention.shape[-1])

    def __repr__(self) -> str:
        m = self.meta
        return (
            f"AttentionRun(model={m.model!r}, {self.n_layers} layers x {self.n_heads} heads, "
            f"T={self.T}, causal={m.causal}, bos_added={m.bos_added}, role={m.role!r})"
        )
