"""Capture on tiny randomly initialised models of every supported family."""

import numpy as np
import pytest
import torch

from bos_widget import CaptureError, capture
from bos_widget.capture.driver import LAST_BEFORE_NORM, LAST_BLOCK
from bos_widget.capture.hooks import find_attention_sites

from . import tiny

TEXT = "the quick brown fox jumps over the lazy dog"


@pytest.fixture(scope="module")
def tok():
    return tiny.tokenizer(add_bos=True)


def _rows_sum_to_one(att):
    np.testing.assert_allclose(att.astype(np.float32).sum(-1), 1.0, atol=3e-3)


@pytest.mark.parametrize(
    ("factory", "causal", "layers"),
    [
        (tiny.gpt2, True, 2),
        (tiny.llama, True, 3),
        (tiny.bert, False, 2),
        (tiny.gemma2, True, 2),
        (tiny.gemma3, True, 2),
        (tiny.mistral, True, 2),
    ],
)
def test_single_stack_models(tok, factory, causal, layers):
    model = factory()
    run = capture(model, tok, TEXT)
    T = len(TEXT.split()) + 1
    assert run.attention.shape == (layers, 4, T, T)
    assert run.attention.dtype == np.float16
    assert run.meta.causal is causal
    assert run.meta.bos_added is True
    assert run.tokens[0] == "<bos>" and run.tokens[1] == "the"
    _rows_sum_to_one(run.attention)
    upper = np.triu(np.ones((T, T), bool), 1)
    assert bool((run.attention[..., upper] == 0).all()) is causal
    for name in ("value_norms", "key_norms", "output_norms"):
        arr = getattr(run, name)
        assert arr is not None and arr.shape == (layers, 4, T) and (arr > 0).all(), name
    assert run.hidden_norms.shape == (layers + 1, T)


@pytest.mark.parametrize(
    ("factory", "sliding_layers"),
    [(tiny.gemma2, [0]), (tiny.gemma3, [0]), (tiny.mistral, [0, 1])],
)
def test_sliding_window_attention_is_zero_outside_the_window(tok, factory, sliding_layers):
    """Gemma 2 / 3 alternate sliding-window and full layers; Mistral slides in every layer.
    The window (3) is shorter than the text (T = 10), so it bites."""
    model = factory()
    before = model.config._attn_implementation
    run = capture(model, tok, TEXT)
    T, w = run.T, tiny.SLIDING_WINDOW
    q, k = np.indices((T, T))
    outside = q - k >= w  # keys too far back
    inside = (k <= q) & ~outside
    _rows_sum_to_one(run.attention)
    for layer in range(run.n_layers):
        att = run.attention[layer].astype(np.float32)  # [H, T, T]
        assert (att[:, inside] > 0).all(), layer
        if layer in sliding_layers:
            assert (att[:, outside] == 0).all(), f"layer {layer} sees past its window"
        else:
            assert att[:, outside].sum(-1).min() > 0, f"full layer {layer} looks windowed"
    assert run.meta.n_kv_heads == 2
    assert model.config._attn_implementation == before  # restored after the eager capture


def test_a_state_space_model_is_refused_by_name(tok):
    with pytest.raises(TypeError, match=r"MambaForCausalLM has no attention layers"):
        capture(tiny.mamba(), tok, TEXT)


def test_capture_matches_output_attentions(tok):
    model = tiny.llama()
    model.set_attn_implementation("eager")
    ids = tok(TEXT, return_tensors="pt")
    with torch.no_grad():
        reference = model(**ids, output_attentions=True).attentions
    run = capture(model, tok, TEXT)
    for layer, ref in enumerate(reference):
        np.testing.assert_allclose(run.attention[layer], ref[0].numpy(), atol=1e-3)


def test_gqa_value_norms_match_a_manual_computation(tok):
    """||v_k W_O^h|| in layer 0 of a Llama with 2 kv heads shared by 4 query heads."""
    model = tiny.llama()
    run = capture(model, tok, TEXT)
    ids = tok(TEXT, return_tensors="pt")["input_ids"]
    attn = model.model.layers[0].self_attn
    with torch.no_grad():
        x = model.model.layers[0].input_layernorm(model.model.embed_tokens(ids))[0]
        v = attn.v_proj(x).reshape(x.shape[0], 2, 8)  # [T, kv, d]
        w_o = attn.o_proj.weight  # [hidden, H * d]
        for h in range(4):
            f = v[:, h // 2] @ w_o[:, h * 8 : (h + 1) * 8].T
            np.testing.assert_allclose(run.output_norms[0, h], f.norm(dim=-1).numpy(), rtol=1e-4)
            np.testing.assert_allclose(run.value_norms[0, h], v[:, h // 2].norm(dim=-1), rtol=1e-4)
    assert run.meta.n_kv_heads == 2


def test_gpt2_fused_projection_value_norms(tok):
    model = tiny.gpt2()
    run = capture(model, tok, TEXT)
    ids = tok(TEXT, return_tensors="pt")["input_ids"]
    tr = model.transformer
    with torch.no_grad():
        pos = torch.arange(ids.shape[1])[None]
        x = tr.h[0].ln_1(tr.wte(ids) + tr.wpe(pos))[0]
        v = tr.h[0].attn.c_attn(x)[:, 64:96].reshape(-1, 4, 8)
        w = tr.h[0].attn.c_proj.weight  # Conv1D: [H * d, hidden]
        f = torch.einsum("thd,hdo->hto", v, w.reshape(4, 8, 32))
    np.testing.assert_allclose(run.output_norms[0], f.norm(dim=-1).numpy(), rtol=1e-4)


@pytest.mark.parametrize(("factory", "dec_layers"), [(tiny.t5, 3), (tiny.bart, 2)])
def test_encoder_decoder_keeps_self_and_cross_apart(tok, factory, dec_layers):
    model = factory()
    run = capture(model, tok, TEXT, decoder_text="the cat sat")
    T = len(TEXT.split()) + 1
    assert run.attention.shape == (2, 4, T, T)
    assert run.meta.causal is False
    dec = run.decoder
    assert dec is not None and dec.meta.role == "decoder" and dec.meta.causal is True
    Td = dec.T
    assert dec.attention.shape == (dec_layers, 4, Td, Td)
    assert dec.cross_attention.shape == (dec_layers, 4, Td, T)
    _rows_sum_to_one(dec.cross_attention)
    _rows_sum_to_one(dec.attention)


def _block_output(model, block, tok, text=TEXT):
    """Run ``model`` with a hook of our own on ``block``: its output and the model's output."""
    seen = []
    handle = block.register_forward_hook(
        lambda m, a, o: seen.append(o[0] if isinstance(o, tuple) else o)
    )
    try:
        with torch.no_grad():
            out = model(**tok(text, return_tensors="pt"), output_hidden_states=True)
    finally:
        handle.remove()
    return seen[-1][0].float(), out.hidden_states


def test_last_hidden_row_is_the_last_block_output_before_the_final_norm(tok):
    """D5 on a Llama: transformers' last hidden state follows the final RMSNorm, which scales
    every token to about the same norm; the run's last row is the last block's own output."""
    model = tiny.llama()
    block_out, hidden = _block_output(model, model.model.layers[-1], tok)
    with torch.no_grad():  # the check that hidden_states[-1] really is norm(block output)
        torch.testing.assert_close(model.model.norm(block_out), hidden[-1][0])
    run = capture(model, tok, TEXT)
    assert run.meta.last_hidden == LAST_BEFORE_NORM
    assert run.hidden_norms.shape == (4, run.T)
    np.testing.assert_allclose(run.hidden_norms[-1], block_out.norm(dim=-1), rtol=1e-5)
    np.testing.assert_allclose(run.hidden_max_abs[-1], block_out.abs().amax(-1), rtol=1e-5)
    np.testing.assert_allclose(run.hidden_median_abs[-1], np.median(block_out.abs()), rtol=1e-5)
    post = hidden[-1][0].norm(dim=-1).numpy()
    assert not np.allclose(run.hidden_norms[-1], post, rtol=1e-2)
    for i, h in enumerate(hidden[:-1]):  # embeddings and earlier blocks: as transformers has them
        np.testing.assert_allclose(run.hidden_norms[i], h[0].norm(dim=-1), rtol=1e-5)


def test_a_model_without_final_norm_keeps_its_last_hidden_state(tok):
    """BERT normalises inside each block and has no final norm: hidden_states[-1] is already
    the last block's output, and the run says so."""
    model = tiny.bert()
    block_out, hidden = _block_output(model, model.encoder.layer[-1], tok)
    torch.testing.assert_close(block_out, hidden[-1][0])
    run = capture(model, tok, TEXT)
    assert run.meta.last_hidden == LAST_BLOCK
    np.testing.assert_allclose(run.hidden_norms[-1], block_out.norm(dim=-1), rtol=1e-5)


@pytest.mark.parametrize(
    ("factory", "encoder", "decoder"),
    [
        (tiny.gpt2, LAST_BEFORE_NORM, None),
        (tiny.gemma2, LAST_BEFORE_NORM, None),
        (tiny.t5, LAST_BEFORE_NORM, LAST_BEFORE_NORM),  # final_layer_norm on both stacks
        (tiny.bart, LAST_BLOCK, LAST_BLOCK),  # post-norm blocks, no final norm
    ],
)
def test_every_family_says_which_last_hidden_state_it_has(tok, factory, encoder, decoder):
    run = capture(factory(), tok, TEXT, decoder_text="the cat sat")
    assert run.meta.last_hidden == encoder
    assert (run.decoder.meta.last_hidden if run.decoder else None) == decoder
    assert run.hidden_norms.shape == (run.n_layers + 1, run.T)


def test_text_pair_marks_the_second_segment(tok):
    run = capture(tiny.bert(), tok, "the cat sat", text_pair="a dog ran")
    assert run.meta.segment_b_start == 5  # <bos> the cat sat <eos> | a dog ran
    assert run.tokens[5] == "a"


def test_no_bos_tokenizer_is_reported():
    run = capture(tiny.llama(), tiny.tokenizer(add_bos=False), TEXT)
    assert run.meta.bos_added is False
    assert run.tokens[0] == "the"


def test_attention_implementation_is_restored_even_when_forward_raises(tok):
    model = tiny.llama()
    assert model.config._attn_implementation == "sdpa"
    sites = find_attention_sites(model)

    def boom(module, args, output):
        raise RuntimeError("boom")

    handle = model.model.layers[1].mlp.register_forward_hook(boom)
    with pytest.raises(RuntimeError, match="boom"):
        capture(model, tok, TEXT)
    handle.remove()
    assert model.config._attn_implementation == "sdpa"
    for site in sites:
        for m in (site.module, site.k_proj, site.v_proj):
            assert not _our_hooks(m)
    assert not any(_our_hooks(m) for m in model.modules())  # the last block's hook too


def _our_hooks(module):
    # bos_widget's own hooks (the qualname test this replaced, "_Recorder", matched none)
    return [h for h in module._forward_hooks.values() if h.__module__.startswith("bos_widget")]


def test_capture_leaves_no_hooks_after_success(tok):
    model = tiny.gpt2()
    with torch.no_grad():
        model(
            **tok(TEXT, return_tensors="pt"), output_hidden_states=True
        )  # transformers hooks itself once
    before = {name: len(m._forward_hooks) for name, m in model.named_modules()}
    capture(model, tok, TEXT)
    after = {name: len(m._forward_hooks) for name, m in model.named_modules()}
    assert after == before
    assert not any(_our_hooks(m) for m in model.modules())


@pytest.mark.parametrize("text", ["", "   \n\t "])
def test_empty_text_is_refused(tok, text):
    with pytest.raises(ValueError, match="empty"):
        capture(tiny.gpt2(), tok, text)


def test_non_string_text_is_refused(tok):
    with pytest.raises(TypeError, match="must be a str"):
        capture(tiny.gpt2(), tok, ["the", "cat"])


def test_too_long_text_says_how_to_truncate(tok):
    long = " ".join(["the cat"] * 40)  # 81 tokens > 64 positions
    with pytest.raises(ValueError, match=r"max_tokens=64"):
        capture(tiny.gpt2(), tok, long)
    run = capture(tiny.gpt2(), tok, long, max_tokens=20)
    assert run.T == 20


def test_foreign_tokenizer_is_refused(tok):
    from transformers import GPT2Config, GPT2LMHeadModel

    small = GPT2LMHeadModel(GPT2Config(vocab_size=10, n_embd=16, n_layer=1, n_head=2))
    with pytest.raises(ValueError, match="does not belong to this model"):
        capture(small, tok, "river bank")


def test_model_without_attention_is_refused(tok):
    with pytest.raises(TypeError, match="no attention layers"):
        find_attention_sites(torch.nn.Sequential(torch.nn.Linear(2, 2)))


def test_a_module_without_weights_raises_a_capture_error_naming_it(tok):
    """Under sdpa the attention modules return None for the weights: never a silent capture."""
    from bos_widget.analysis.experiments._forward import Recorder

    model = tiny.llama()  # sdpa: no weights come back
    sites = find_attention_sites(model)
    inputs = tok(TEXT, return_tensors="pt")
    expected = r"model\.layers\.0\.self_attn.*eager_attention"
    with pytest.raises(CaptureError, match=expected), Recorder(sites), torch.inference_mode():
        model(**inputs)
    assert not any(_our_hooks(m) for m in model.modules())
