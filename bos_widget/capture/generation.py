"""Capture layer: let a causal language model continue the prompt, then capture it all.

``capture(..., max_new_tokens=N)`` calls :func:`generate` before its one forward pass: the
model's own ``generate`` (greedy unless ``generate_kwargs`` say otherwise) extends the prompt,
and the capture then runs over prompt + generated tokens. In a causal model the attention
row of position ``p`` depends only on positions ``0..p``, so row ``P + s - 2`` of that
forward is the attention the model paid at generation step ``s`` (``P`` prompt tokens,
steps ``s = 1 .. n``; step ``s`` chose the token at position ``P + s - 1``, and its query
was the position before it), up to float rounding between the cached incremental pass and
the full one. tests/models/test_generation.py holds the two to 2e-3 on the demo decoders
against ``generate(output_attentions=True)``.
"""

from __future__ import annotations

from typing import Any

import torch

from .hooks import CaptureError
from .tokens import _max_positions


def _refusal(model: Any) -> str | None:
    name = type(model).__name__
    if getattr(model.config, "is_encoder_decoder", False):
        return (
            f"{name} is an encoder-decoder model; generation here follows a causal language "
            "model's prompt. Generate with model.generate(...), decode the output and pass it "
            "as decoder_text=... to see the decoder's self- and cross-attention."
        )
    can = getattr(model, "can_generate", None)
    if not callable(can) or not can():
        return (
            f"{name} cannot generate text (it has no language-model head: an encoder such as "
            "BERT, or a base model class). Load the causal-LM class, e.g. "
            "AutoModelForCausalLM.from_pretrained(...), or drop max_new_tokens."
        )
    return None


def generate(
    model: Any,
    tokenizer: Any,
    enc: Any,
    max_new_tokens: int,
    generate_kwargs: dict[str, Any] | None = None,
) -> tuple[dict[str, torch.Tensor], int]:
    """Extend the tokenised prompt ``enc`` with up to ``max_new_tokens`` generated tokens.

    Parameters
    ----------
    model : transformers.PreTrainedModel
        A model that can generate (a causal language model).
    tokenizer : transformers tokenizer
        Supplies the pad token id (its EOS where it has no pad token).
    enc : BatchEncoding
        ``input_ids`` ``[1, P]`` (and ``attention_mask``) of the prompt.
    max_new_tokens : int
        At most this many tokens are added (fewer when the model ends with EOS).
    generate_kwargs : dict, optional
        Passed to ``model.generate``; the default is greedy decoding (``do_sample=False``).

    Returns
    -------
    (dict, int)
        ``{"input_ids": [1, P + n], "attention_mask": [1, P + n]}`` on the CPU, and ``P``.
    """
    if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, int):
        raise TypeError(f"max_new_tokens must be an int, got {max_new_tokens!r}.")
    if max_new_tokens < 1:
        raise ValueError(f"max_new_tokens must be at least 1, got {max_new_tokens}.")
    refusal = _refusal(model)
    if refusal:
        raise CaptureError(refusal)
    ids = enc["input_ids"]
    prompt = int(ids.shape[1])
    limit = _max_positions(model)
    if limit is not None and prompt + max_new_tokens > limit:
        raise ValueError(
            f"The prompt is {prompt} tokens and {type(model).__name__} accepts at most {limit} "
            f"positions, so at most {limit - prompt} new tokens fit; pass a smaller "
            "max_new_tokens or a shorter prompt."
        )
    kwargs: dict[str, Any] = {"do_sample": False}
    kwargs.update(generate_kwargs or {})
    for reserved in ("input_ids", "attention_mask", "max_new_tokens", "inputs"):
        if reserved in kwargs:
            raise TypeError(f"generate_kwargs may not set {reserved!r}; capture sets it.")
    pad = getattr(tokenizer, "pad_token_id", None)
    if pad is None:
        pad = getattr(tokenizer, "eos_token_id", None)
    if pad is not None:
        kwargs.setdefault("pad_token_id", pad)
    mask = enc.get("attention_mask")
    if mask is None:
        mask = torch.ones_like(ids)
    with torch.inference_mode():
        out = model.generate(
            input_ids=ids.to(model.device),
            attention_mask=mask.to(model.device),
            max_new_tokens=max_new_tokens,
            **kwargs,
        )
    seq = out.sequences if hasattr(out, "sequences") else out
    seq = seq[:1].detach().cpu()
    if seq.shape[1] <= prompt:
        raise CaptureError(
            f"{type(model).__name__}.generate returned no new token; check generate_kwargs "
            "(e.g. a stop condition that holds at once)."
        )
    return {"input_ids": seq, "attention_mask": torch.ones_like(seq)}, prompt
