"""Tiny randomly initialised models of each supported family, built in code, with a
word-level tokenizer, so that capture can be tested in seconds without any download."""

from __future__ import annotations

import torch
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
from transformers import (
    BartConfig,
    BartForConditionalGeneration,
    BertConfig,
    BertModel,
    Gemma2Config,
    Gemma2ForCausalLM,
    Gemma3ForCausalLM,
    Gemma3TextConfig,
    GPT2Config,
    GPT2LMHeadModel,
    LlamaConfig,
    LlamaForCausalLM,
    MambaConfig,
    MambaForCausalLM,
    MistralConfig,
    MistralForCausalLM,
    PreTrainedTokenizerFast,
    T5Config,
    T5ForConditionalGeneration,
)

_SENTENCES = (
    "the a cat dog sat on mat and ran to house river bank over under quick brown fox jumps "
    "lazy because it wanted reach before dark . , is was very small big red blue green"
)
WORDS = _SENTENCES.split()
SPECIALS = ["<pad>", "<bos>", "<eos>", "<unk>"]
VOCAB = {tok: i for i, tok in enumerate(SPECIALS + WORDS)}
V = len(VOCAB)
MAX_POS = 64
SLIDING_WINDOW = 3  # keys more than 2 positions back are outside a sliding-window layer's view


def tokenizer(
    add_bos: bool = True, *, lowercase: bool = False, token_type_ids: bool = False
) -> PreTrainedTokenizerFast:
    """A word-level tokenizer over ``WORDS``; prepends ``<bos>`` when ``add_bos``.

    ``lowercase`` folds case first ("uncased" models); ``token_type_ids`` returns BERT's
    segment ids (0 for the first text and its specials, 1 for the second).
    """
    tok = Tokenizer(models.WordLevel(VOCAB, unk_token="<unk>"))
    if lowercase:
        tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    if add_bos:
        tok.post_processor = processors.TemplateProcessing(
            single="<bos> $A",
            pair="<bos> $A <eos> $B:1",
            special_tokens=[("<bos>", 1), ("<eos>", 2)],
        )
    names = ["input_ids", "token_type_ids", "attention_mask"] if token_type_ids else None
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        pad_token="<pad>",
        bos_token="<bos>",
        eos_token="<eos>",
        unk_token="<unk>",
        **({"model_input_names": names} if names else {}),
    )


def _seeded(cls, config):
    torch.manual_seed(0)
    return cls(config).eval()


def gpt2():
    return _seeded(
        GPT2LMHeadModel,
        GPT2Config(
            vocab_size=V,
            n_embd=32,
            n_layer=2,
            n_head=4,
            n_positions=MAX_POS,
            bos_token_id=1,
            eos_token_id=2,
        ),
    )


def llama():
    """Llama with grouped-query attention: 4 query heads share 2 key/value heads."""
    cfg = LlamaConfig(
        vocab_size=V,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=3,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=MAX_POS,
    )
    return _seeded(LlamaForCausalLM, cfg)


def bert(layers: int = 2, heads: int = 4):
    cfg = BertConfig(
        vocab_size=V,
        hidden_size=8 * heads,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=64,
        max_position_embeddings=MAX_POS,
    )
    return _seeded(BertModel, cfg)


def t5():
    cfg = T5Config(
        vocab_size=V,
        d_model=32,
        d_kv=8,
        d_ff=64,
        num_layers=2,
        num_decoder_layers=3,
        num_heads=4,
        decoder_start_token_id=0,
        pad_token_id=0,
        eos_token_id=2,
    )
    return _seeded(T5ForConditionalGeneration, cfg)


def bart():
    cfg = BartConfig(
        vocab_size=V,
        d_model=32,
        encoder_layers=2,
        decoder_layers=2,
        encoder_attention_heads=4,
        decoder_attention_heads=4,
        encoder_ffn_dim=64,
        decoder_ffn_dim=64,
        max_position_embeddings=MAX_POS,
        pad_token_id=0,
        bos_token_id=1,
        eos_token_id=2,
        decoder_start_token_id=2,
    )
    return _seeded(BartForConditionalGeneration, cfg)


def _small_decoder(config_cls, **extra):
    """A 2-layer decoder config, 4 query heads sharing 2 key/value heads."""
    return config_cls(
        vocab_size=V,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=8,
        max_position_embeddings=MAX_POS,
        **extra,
    )


def gemma2():
    """Gemma 2: layer 0 sliding-window attention (window ``SLIDING_WINDOW``), layer 1 full."""
    cfg = _small_decoder(
        Gemma2Config,
        sliding_window=SLIDING_WINDOW,
        layer_types=["sliding_attention", "full_attention"],
    )
    return _seeded(Gemma2ForCausalLM, cfg)


def gemma3():
    """Gemma 3 (text): layer 0 sliding-window attention, layer 1 full."""
    cfg = _small_decoder(
        Gemma3TextConfig,
        sliding_window=SLIDING_WINDOW,
        layer_types=["sliding_attention", "full_attention"],
    )
    return _seeded(Gemma3ForCausalLM, cfg)


def mistral():
    """Mistral: sliding-window attention (window ``SLIDING_WINDOW``) in every layer."""
    return _seeded(MistralForCausalLM, _small_decoder(MistralConfig, sliding_window=SLIDING_WINDOW))


def mamba():
    """A state-space model: no attention at all (unsupported by design)."""
    cfg = MambaConfig(vocab_size=V, hidden_size=32, state_size=4, num_hidden_layers=2)
    return _seeded(MambaForCausalLM, cfg)
