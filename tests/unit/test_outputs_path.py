"""Capture from the model's own outputs: the six families transformers' recording table does
not list (GPT-Neo, Falcon, MPT, DeBERTa-v2, Longformer, MPNet), each a tiny random model built
here. Every map must equal what the model returns for ``output_attentions=True`` (Longformer's
local window placed on its keys), rows sum to 1, the run says how it was captured and what is
missing, and a model with no attention at all is still refused."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import (
    DebertaV2Config,
    DebertaV2Model,
    FalconConfig,
    FalconForCausalLM,
    GPTNeoConfig,
    GPTNeoForCausalLM,
    LongformerConfig,
    LongformerModel,
    MPNetConfig,
    MPNetModel,
    MptConfig,
    MptForCausalLM,
)

from bos_widget import AttentionWidget, CaptureError, capture
from bos_widget.capture.hooks import attention_implementation
from bos_widget.capture.outputs_path import _check_causal

from . import tiny

TEXT = "the quick brown fox jumps over the lazy dog"
V, WINDOW = tiny.V, 4


def _falcon_config(attn: str) -> FalconConfig:
    cfg = FalconConfig(vocab_size=V, hidden_size=32, num_hidden_layers=2, num_attention_heads=4)
    cfg._attn_implementation = attn  # what from_pretrained(..., attn_implementation=attn) sets
    return cfg


def _models() -> dict:
    enc = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4}
    enc["intermediate_size"] = 64
    return {
        "gpt_neo": lambda: GPTNeoForCausalLM(
            GPTNeoConfig(
                vocab_size=V,
                hidden_size=32,
                num_layers=2,
                num_heads=4,
                attention_types=[[["global", "local"], 1]],
                window_size=WINDOW,
                max_position_embeddings=64,
                bos_token_id=1,
                eos_token_id=2,
            )
        ),
        "falcon": lambda: FalconForCausalLM(_falcon_config("eager")),
        "mpt": lambda: MptForCausalLM(
            MptConfig(vocab_size=V, d_model=32, n_layers=2, n_heads=4, max_seq_len=64)
        ),
        "deberta-v2": lambda: DebertaV2Model(
            DebertaV2Config(vocab_size=V, max_position_embeddings=64, **enc)
        ),
        "longformer": lambda: LongformerModel(
            LongformerConfig(
                vocab_size=V, attention_window=WINDOW, max_position_embeddings=70, **enc
            )
        ),
        "mpnet": lambda: MPNetModel(MPNetConfig(vocab_size=V, max_position_embeddings=70, **enc)),
    }


FAMILIES = list(_models())
WITH_VALUES = {"gpt_neo", "mpt", "deberta-v2", "longformer", "mpnet"}  # Falcon's are fused


@pytest.fixture(scope="module")
def captured() -> dict:
    torch.manual_seed(0)
    tok = tiny.tokenizer()
    out = {}
    for name, make in _models().items():
        model = make().eval()
        ids = tok(TEXT, return_tensors="pt")["input_ids"]
        with torch.inference_mode():
            ref = model(input_ids=ids, output_attentions=True).attentions
        out[name] = (model, capture(model, tok, TEXT, progress=False), ref)
    return out


def _placed(local: np.ndarray, T: int) -> np.ndarray:
    """Longformer's [H, T, w + 1] window weights on their keys, written out by loops."""
    H, _, width = local.shape
    full = np.zeros((H, T, T), np.float32)
    for q in range(T):
        for j in range(width):
            k = q + j - (width - 1) // 2
            if 0 <= k < T:
                full[:, q, k] = local[:, q, j]
    return full


@pytest.mark.parametrize("family", FAMILIES)
def test_every_map_is_the_models_own(captured, family):
    _model, run, ref = captured[family]
    assert run.meta.path == "outputs"
    assert run.n_layers == len(ref) == 2 and run.n_heads == 4
    for layer, want in enumerate(ref):
        want = want[0].float().numpy()
        if family == "longformer":
            assert want.shape[-1] == WINDOW + 1, "Longformer returns its local window"
            want = _placed(want, run.T)
        np.testing.assert_allclose(run.slice(layer, 0)[None], want[:1], atol=1e-3)
        np.testing.assert_allclose(run.require_attention()[layer], want, atol=1e-3)
    np.testing.assert_allclose(run.require_attention().astype(np.float32).sum(-1), 1, atol=3e-3)


@pytest.mark.parametrize("family", FAMILIES)
def test_the_run_says_how_it_was_captured_and_what_is_missing(captured, family):
    _model, run, _ref = captured[family]
    assert "output_attentions" in run.meta.path_note
    assert run.hidden_norms is not None and run.hidden_norms.shape == (3, run.T)
    if family in WITH_VALUES:
        assert run.value_norms is not None and run.output_norms is not None
        assert "not captured" not in run.meta.path_note
    else:
        assert run.value_norms is None and "Value norms" in run.meta.path_note
    causal = family in {"gpt_neo", "falcon", "mpt"}
    assert run.meta.causal is causal
    w = AttentionWidget(run)
    assert w.meta["T"] == run.T
    assert ("norm" in w.meta["weightings"]) is (family in WITH_VALUES)


def test_value_norms_are_the_value_projection_of_each_head(captured):
    """GPT-Neo, by hand: v = v_proj(ln_1(h_l)), split into heads."""
    model, run, _ref = captured["gpt_neo"]
    ids = torch.tensor([run.token_ids])
    with torch.inference_mode():
        hidden = model(input_ids=ids, output_hidden_states=True).hidden_states
        for layer, block in enumerate(model.transformer.h):
            v = block.attn.attention.v_proj(block.ln_1(hidden[layer]))[0]  # [T, H * d]
            norms = v.reshape(run.T, 4, -1).norm(dim=-1).T.numpy()
            np.testing.assert_allclose(run.value_norms[layer], norms, rtol=1e-4, atol=1e-6)
            wo = block.attn.attention.out_proj.weight  # [D, H * d]
            d = v.shape[-1] // 4
            f = torch.stack(
                [v[:, h * d : (h + 1) * d] @ wo[:, h * d : (h + 1) * d].T for h in range(4)]
            )
            np.testing.assert_allclose(
                run.output_norms[layer], f.norm(dim=-1).numpy(), rtol=1e-4, atol=1e-6
            )


def test_a_model_without_attention_is_still_refused():
    with pytest.raises(TypeError, match="MambaForCausalLM has no attention layers"):
        capture(tiny.mamba(), tiny.tokenizer(), TEXT)


def test_falcon_loaded_with_sdpa_is_captured_causal_or_refused():
    """Falcon loaded with sdpa: in transformers 5.24 its weights path added the boolean sdpa
    mask as numbers, so output_attentions returned (and computed with) non-causal attention;
    5.25 applies the mask. Whichever transformers is installed, the capture never
    hands over non-causal weights from a text generator: it refuses and says how to load the
    model where the weights see later tokens, and equals an eager Falcon where they don't."""
    torch.manual_seed(0)
    model = FalconForCausalLM(_falcon_config("sdpa")).eval()
    eager = FalconForCausalLM(_falcon_config("eager")).eval()
    eager.load_state_dict(model.state_dict())
    inputs = tiny.tokenizer()(TEXT, return_tensors="pt")
    with attention_implementation(model, "eager"), torch.inference_mode():
        atts = model(**inputs, output_attentions=True).attentions
    leak = max(float(torch.triu(a[0], diagonal=1).abs().max()) for a in atts)
    if leak > 1e-3:
        with pytest.raises(CaptureError, match="attn_implementation='eager'"):
            capture(model, tiny.tokenizer(), TEXT)
    else:
        run = capture(model, tiny.tokenizer(), TEXT)
        assert run.meta.causal
        np.testing.assert_array_equal(
            run.attention, capture(eager, tiny.tokenizer(), TEXT).attention
        )
    assert model.config._attn_implementation == "sdpa"


def test_a_text_generator_whose_weights_see_later_tokens_is_refused():
    """The refusal itself, on a hand-built map that puts 0.25 on a later token (whatever the
    installed transformers does with Falcon): the message names the weight and what to do."""
    model = FalconForCausalLM(_falcon_config("eager")).eval()
    attention = np.tile(np.tril(np.ones((3, 3), np.float16)), (2, 4, 1, 1))
    attention /= attention.sum(-1, keepdims=True)
    _check_causal(model, attention, "eager")  # causal: accepted
    attention[1, 2, 0] = [0.5, 0.25, 0.25]
    with pytest.raises(CaptureError, match=r"up to 0\.25 on later tokens.*'sdpa'.*'eager'"):
        _check_causal(model, attention, "sdpa")
    _check_causal(_models()["mpnet"](), attention, "eager")  # an encoder may look both ways


def test_longformer_value_norms_are_read_sequence_first(captured):
    """Longformer's value projection sees [T, batch, D] (and a padded T): by hand,
    v = value(h_l) for the block's input h_l, split into heads."""
    model, run, _ref = captured["longformer"]
    ids = torch.tensor([run.token_ids])
    with torch.inference_mode():
        hidden = model(input_ids=ids, output_hidden_states=True).hidden_states
        for layer, block in enumerate(model.encoder.layer):
            v = block.attention.self.value(hidden[layer][0])  # [T, H * d]
            norms = v.reshape(run.T, 4, -1).norm(dim=-1).T.numpy()
            np.testing.assert_allclose(run.value_norms[layer], norms, rtol=1e-4, atol=1e-6)
