"""Tiny randomly initialised models of each supported family, built in code, with a
word-level tokenizer, so that capture can be tested in seconds without any download."""

from __future__ import annotations

import torch
from tokenizers import Tokenizer, models, pre_tokenizers, processors
from transformers import (
    BartConfig,
    BartForConditionalGeneration,
    BertConfig,
    BertModel,
    GPT2Config,
    GPT2LMHeadModel,
    LlamaConfig,
    LlamaForCausalLM,
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


def tokenizer(add_bos: bool = True) -> PreTrainedTokenizerFast:
    """A word-level tokenizer over ``WORDS``; prepends ``<bos>`` when ``add_bos``."""
    tok = Tokenizer(models.WordLevel(VOCAB, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    if add_bos:
        tok.post_processor = processors.TemplateProcessing(
            single="<bos> $A",
            pair="<bos> $A <eos> $B:1",
            special_tokens=[("<bos>", 1), ("<eos>", 2)],
        )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        pad_token="<pad>",
        bos_token="<bos>",
        eos_token="<eos>",
        unk_token="<unk>",
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


def bert():
    cfg = BertConfig(
        vocab_size=V,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
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
