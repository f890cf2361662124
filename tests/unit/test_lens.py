"""AttentionWidget.from_transformer_lens against a real TransformerLens install: a tiny model
built in code (TransformerBridge.boot_native, TransformerLens 4's HookedTransformer), run with
run_with_cache on token ids; the run's maps must be the cache's patterns."""

import numpy as np
import pytest

pytest.importorskip(
    "transformer_lens", reason="TransformerLens is not installed (pip install 'bos_widget[lens]')"
)
import torch
from transformer_lens import TransformerBridge, TransformerBridgeConfig

from bos_widget import AttentionWidget
from bos_widget.capture.lens import run_from_transformer_lens

L, H, T = 2, 4, 8
IDS = torch.tensor([[1, 5, 7, 9, 3, 2, 11, 4], [2, 8, 8, 6, 1, 0, 3, 3]])


@pytest.fixture(scope="module")
def model():
    cfg = TransformerBridgeConfig(
        n_layers=L, d_model=32, n_ctx=32, d_head=8, n_heads=H, d_vocab=50, act_fn="relu", seed=0
    )
    return TransformerBridge.boot_native(cfg, model_name="tiny-tl")


@pytest.fixture(scope="module")
def cache(model):
    with torch.no_grad():
        _, cache = model.run_with_cache(IDS[:1])
    return cache


def test_maps_are_the_caches_patterns(model, cache):
    w = AttentionWidget.from_transformer_lens(cache, IDS[:1])
    run = w.run
    assert (run.n_layers, run.n_heads, run.T) == (L, H, T)
    for l in range(L):
        pattern = cache["pattern", l][0].numpy()
        np.testing.assert_allclose(run.attention[l].astype(np.float32), pattern, atol=1e-3)
        np.testing.assert_allclose(run.attention[l].astype(np.float32).sum(-1), 1, atol=2e-3)
    assert run.meta.model == "tiny-tl" and run.meta.causal
    assert run.tokens == tuple(str(i) for i in IDS[0].tolist())  # no tokenizer: ids shown
    assert run.token_ids == tuple(IDS[0].tolist())


def test_norms_come_from_values_and_residual_stream(model, cache):
    run = run_from_transformer_lens(cache, IDS[:1])
    v = cache["v", 1][0]  # [T, H, d_head]
    np.testing.assert_allclose(run.value_norms[1], v.norm(dim=-1).T.numpy(), rtol=1e-5)
    f = torch.einsum("thd,hde->hte", v, model.W_O[1].detach())  # v_k W_O^h
    np.testing.assert_allclose(run.output_norms[1], f.norm(dim=-1).numpy(), rtol=1e-4)
    np.testing.assert_allclose(
        run.hidden_norms[0], cache["resid_pre", 0][0].norm(dim=-1).numpy(), rtol=1e-5
    )
    np.testing.assert_allclose(
        run.hidden_norms[L], cache["resid_post", L - 1][0].norm(dim=-1).numpy(), rtol=1e-5
    )
    assert run.meta.last_hidden.startswith("last block output")
    w = AttentionWidget(run)
    assert "norm" in w.meta["weightings"]
    w.weighting = "norm"  # the D3 view is offered and selectable


def test_batch_needs_an_index(model):
    with torch.no_grad():
        _, cache = model.run_with_cache(IDS)
    with pytest.raises(ValueError, match="batch of 2 inputs; choose one with batch_index"):
        run_from_transformer_lens(cache, IDS)
    run = run_from_transformer_lens(cache, IDS, batch_index=1)
    np.testing.assert_allclose(
        run.attention[0].astype(np.float32), cache["pattern", 0][1].numpy(), atol=1e-3
    )
    assert run.token_ids == tuple(IDS[1].tolist())
    with pytest.raises(ValueError, match="batch_index must lie in"):
        run_from_transformer_lens(cache, IDS, batch_index=5)


def test_cache_without_batch_axis_and_string_tokens(model):
    with torch.no_grad():
        _, cache = model.run_with_cache(IDS[:1], remove_batch_dim=True)
    tokens = [f"t{i}" for i in range(T)]
    run = run_from_transformer_lens(cache, tokens, model="named")
    np.testing.assert_allclose(
        run.attention[1].astype(np.float32), cache["pattern", 1].numpy(), atol=1e-3
    )
    assert run.tokens == tuple(tokens) and run.meta.model == "named"


def test_bad_caches_say_what_to_do(model, cache):
    with pytest.raises(TypeError, match="expects a TransformerLens ActivationCache"):
        AttentionWidget.from_transformer_lens([cache["pattern", 0]], IDS[:1])
    with torch.no_grad():
        _, no_patterns = model.run_with_cache(IDS[:1], names_filter=lambda n: "resid" in n)
    with pytest.raises(ValueError, match="holds no attention patterns"):
        run_from_transformer_lens(no_patterns, IDS[:1])
    with torch.no_grad():
        _, one_layer = model.run_with_cache(IDS[:1], names_filter="blocks.1.attn.hook_pattern")
    with pytest.raises(ValueError, match=r"layers \[1\] only"):
        run_from_transformer_lens(one_layer, IDS[:1])
    with pytest.raises(TypeError, match="not a single string"):
        run_from_transformer_lens(cache, "the cat")
    with pytest.raises(TypeError, match="token ids"):
        run_from_transformer_lens(cache, IDS[:1].float())
    with pytest.raises(ValueError, match="8 positions but 3 tokens"):
        run_from_transformer_lens(cache, ["a", "b", "c"])


def test_patterns_only_cache_gives_a_run_without_norms(model):
    with torch.no_grad():
        _, cache = model.run_with_cache(IDS[:1], names_filter=lambda n: "hook_pattern" in n)
    run = run_from_transformer_lens(dict(cache.cache_dict), IDS[:1])  # a plain dict works too
    assert run.value_norms is None and run.hidden_norms is None and run.output_norms is None
    assert AttentionWidget(run).meta["weightings"] == ["raw"]


def test_a_bridged_hugging_face_model_with_grouped_query_attention():
    from transformer_lens.model_bridge.sources._bridge_builder import build_bridge_from_module

    from . import tiny

    hf = tiny.llama()  # 4 query heads share 2 key/value heads
    hf.config.name_or_path = "tiny-llama"
    bridge = build_bridge_from_module(hf, "LlamaForCausalLM", hf_config=hf.config)
    ids = torch.tensor([[1, 4, 6, 8, 9, 4, 10]])
    with torch.no_grad():
        _, cache = bridge.run_with_cache(ids)
    assert cache["v", 0].shape[2] == 2
    run = run_from_transformer_lens(cache, ids, model="tiny-llama")
    assert run.meta.model_class == "LlamaForCausalLM" and run.meta.n_kv_heads == 2
    for l in range(run.n_layers):
        pattern = cache["pattern", l][0].numpy()
        np.testing.assert_allclose(run.attention[l].astype(np.float32), pattern, atol=1e-3)
    # query heads 0 and 1 read key/value head 0, heads 2 and 3 head 1
    np.testing.assert_array_equal(run.value_norms[:, 0], run.value_norms[:, 1])
    v = cache["v", 2][0, :, 1]  # [T, d_head] of key/value head 1
    np.testing.assert_allclose(run.value_norms[2, 3], v.norm(dim=-1).numpy(), rtol=1e-5)
    assert run.output_norms is not None and run.hidden_norms is not None
