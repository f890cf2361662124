"""A tiny randomly initialised gpt-oss (learned sink logits per head), built in code."""

from __future__ import annotations

import torch
from transformers import GptOssConfig, GptOssForCausalLM

from . import tiny

# one learned sink logit per head, spread so that p_sink ranges from small to dominant
SINK_LOGITS = (-2.0, 0.0, 1.0, 3.0)


def gpt_oss(sinks: tuple[float, ...] = SINK_LOGITS) -> GptOssForCausalLM:
    """gpt-oss: layer 0 sliding-window attention (window ``tiny.SLIDING_WINDOW``), layer 1
    full; 4 query heads share 2 key/value heads; 4 experts, 2 per token. Eager attention
    (transformers has no sdpa for gpt-oss)."""
    cfg = GptOssConfig(
        vocab_size=tiny.V,
        hidden_size=32,
        intermediate_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=8,
        num_local_experts=4,
        num_experts_per_tok=2,
        max_position_embeddings=tiny.MAX_POS,
        sliding_window=tiny.SLIDING_WINDOW,
        layer_types=["sliding_attention", "full_attention"],
        rope_parameters={"rope_type": "default", "rope_theta": 10000.0},
    )
    torch.manual_seed(0)
    model = GptOssForCausalLM(cfg).eval()
    with torch.no_grad():
        for layer in model.model.layers:
            layer.self_attn.sinks.copy_(torch.tensor(sinks))
    return model
