"""Experiments that re-run the model (D6-D9, Gu protocol) on tiny models with known answers."""

import numpy as np
import pytest
import torch

from bos_widget.analysis.experiments import (
    ABLATIONS,
    ablate_first_token,
    bos_invariance,
    first_key_mask,
    gu_sink_rate,
    relocation,
    relocation_variants,
    remove_sink_output,
    sink_output,
    zero_first_value,
)
from bos_widget.capture.driver import eager_attention
from bos_widget.capture.hooks import find_attention_sites

from . import tiny

TEXT = "the quick brown fox jumps over the lazy dog"
A = "the cat sat on the mat"
B = "the dog ran to the river bank and over the house"


@pytest.fixture(scope="module")
def tok():
    return tiny.tokenizer(add_bos=True)


@pytest.fixture(scope="module")
def plain():
    return tiny.tokenizer(add_bos=False)


def _setting_columns(df, T, bos):
    assert (df["T"] == T).all() and (df["bos_added"] == bos).all()
    assert df.attrs["setting"]["T"] == T and df.attrs["setting"]["bos_added"] is bos
    assert isinstance(df.attrs["setting"]["model"], str) and (df["model"] != "").all()


# ---- D6 -------------------------------------------------------------------------------------


@pytest.mark.parametrize("factory", [tiny.llama, tiny.gpt2])
@pytest.mark.parametrize("add_bos", [True, False])
def test_d6_causal_first_state_ignores_the_rest(factory, add_bos):
    df = bos_invariance(factory(), tiny.tokenizer(add_bos), A, B)
    n_layers = 3 if factory is tiny.llama else 2
    assert list(df["layer"]) == list(range(n_layers + 1))
    assert (df["rel_diff"] < 1e-5).all(), df["rel_diff"].tolist()
    assert (df["norm_a"] > 0).all()
    _setting_columns(df, len(A.split()) + add_bos, add_bos)
    assert (df["T_b"] == len(B.split()) + add_bos).all()


def test_d6_last_row_is_the_last_block_output_before_the_final_norm():
    model, tok = tiny.llama(), tiny.tokenizer(True)
    seen = []
    handle = model.model.layers[-1].register_forward_hook(lambda m, a, out: seen.append(out))
    try:
        df = bos_invariance(model, tok, A, B)
    finally:
        handle.remove()
    block_out = seen[0][0] if isinstance(seen[0], tuple) else seen[0]
    assert df["norm_a"].iloc[-1] == pytest.approx(float(block_out[0, 0].double().norm()), rel=1e-5)
    with torch.no_grad():
        normed = model.model.norm(block_out)[0, 0].double().norm()
    assert abs(df["norm_a"].iloc[-1] - float(normed)) > 1e-3  # not the post-norm state


def test_d6_bert_first_state_depends_on_the_sentence(tok):
    df = bos_invariance(tiny.bert(), tok, A, B)
    assert df["rel_diff"].iloc[0] < 1e-6  # embeddings of [bos] at position 0: identical
    assert (df["rel_diff"].iloc[1:] > 1e-4).all(), df["rel_diff"].tolist()


def test_d6_rejects_texts_with_different_first_tokens(plain):
    with pytest.raises(ValueError, match="start with different tokens"):
        bos_invariance(tiny.llama(), plain, "the cat sat", "a dog ran")


def test_d6_rejects_empty_text(tok):
    with pytest.raises(ValueError, match="empty"):
        bos_invariance(tiny.llama(), tok, A, "   ")


# ---- D7 -------------------------------------------------------------------------------------


def test_d7_causal_sink_output_is_the_same_vector_for_every_input(tok):
    df = sink_output(tiny.llama(), tok, [A, B, TEXT])
    assert len(df) == 3 * 4 and set(df.columns) >= {"attn0", "cos_inputs", "norm_ratio"}
    np.testing.assert_allclose(df["cos_positions"], 1.0, atol=5e-7)  # float32 noise: ~6e-8
    np.testing.assert_allclose(df["cos_inputs"], 1.0, atol=5e-7)
    assert ((df["attn0"] > 0) & (df["attn0"] < 1)).all()
    _setting_columns(df, len(B.split()) + 1, True)


def test_d7_bert_first_token_output_changes_with_the_input(tok):
    df = sink_output(tiny.bert(), tok, [A, B])
    layer1 = df[df["layer"] == 1]  # random tiny BERT: small but far above float noise
    assert (layer1["cos_inputs"] < 1 - 1e-6).all(), layer1["cos_inputs"].tolist()
    np.testing.assert_allclose(df[df["layer"] == 0]["cos_inputs"], 1.0, atol=5e-7)


def test_d7_norm_ratio_on_identical_values_equals_the_attention(plain):
    """One token repeated: in layer 0 every f(x_k) is the same vector (rotary embedding
    touches only q and k), so o_t = f(x_0) and ||u_t|| / ||o_t|| = A[t, 0]."""
    df = sink_output(tiny.llama(), plain, ["dog dog dog dog dog dog"])
    layer0 = df[df["layer"] == 0]
    np.testing.assert_allclose(layer0["norm_ratio"], layer0["attn0"], rtol=1e-5)
    assert layer0["cos_inputs"].isna().all()  # one input: nothing to compare across


def test_d7_needs_a_list_of_texts(tok):
    with pytest.raises(ValueError, match="list"):
        sink_output(tiny.llama(), tok, A)


# ---- D8 -------------------------------------------------------------------------------------


def test_first_key_mask_layout():
    m = first_key_mask(4)[0, 0]
    allowed = m == 0
    expected = torch.tensor(
        [[1, 0, 0, 0], [0, 1, 0, 0], [0, 1, 1, 0], [0, 1, 1, 1]], dtype=torch.bool
    )
    assert torch.equal(allowed, expected)
    assert (m[~allowed] == torch.finfo(torch.float32).min).all()


@pytest.mark.parametrize("factory", [tiny.llama, tiny.gpt2])
def test_d8a_mask_removes_key0_and_rows_still_sum_to_one(tok, factory):
    model = factory()
    ids = tok(TEXT, return_tensors="pt")["input_ids"]
    T = ids.shape[1]
    with eager_attention(model), torch.no_grad():
        att = model(input_ids=ids, attention_mask=first_key_mask(T), output_attentions=True)
    for layer in att.attentions:
        w = layer[0].numpy()
        assert (w[:, 1:, 0] == 0).all()
        np.testing.assert_allclose(w.sum(-1), 1.0, atol=1e-5)
        assert (w[:, np.triu_indices(T, 1)[0], np.triu_indices(T, 1)[1]] == 0).all()
        assert w[:, 0, 0] == pytest.approx(1.0)


def _layer0_output(model, tok, site, edit=None):
    """Layer 0 attention module output [T, hidden], weights [H, T, T] and v [T, kvH*d].

    The recording hooks are registered after ``edit``'s, so they see the edited output.
    """
    got = {}
    ids = tok(TEXT, return_tensors="pt")["input_ids"]
    with eager_attention(model), torch.no_grad(), edit or torch.no_grad():
        handles = [
            site.module.register_forward_hook(
                lambda m, a, o: got.update(out=o[0][0].clone(), w=o[site.index][0].clone())
            ),
            site.v_proj.register_forward_hook(
                lambda m, a, o: got.update(v=site.split(o, "v")[0].clone())
            ),
        ]
        try:
            model(input_ids=ids)
        finally:
            for h in handles:
                h.remove()
    return got


@pytest.mark.parametrize("factory", [tiny.llama, tiny.gpt2])
@pytest.mark.parametrize("which", ["zero_value0", "remove_sink_output"])
def test_d8b_changes_layer0_output_by_exactly_the_sink_share(tok, factory, which):
    """Zeroing v_0 moves layer 0's attention output by sum_h A_h[t, 0] v_0^h W_O^h."""
    model = factory()
    site = find_attention_sites(model)[0]
    base = _layer0_output(model, tok, site)
    edit = zero_first_value(model) if which == "zero_value0" else remove_sink_output(model)
    ablated = _layer0_output(model, tok, site, edit)
    np.testing.assert_array_equal(base["w"].numpy(), ablated["w"].numpy())  # attention kept
    w, v = base["w"], base["v"]  # [H, T, T], [T, kvH * d]
    H, d = w.shape[0], model.config.hidden_size // w.shape[0]
    v0 = v[0].reshape(-1, d).repeat_interleave(H // (v.shape[1] // d), dim=0)  # [H, d]
    o = site.o_proj
    bias = o(torch.zeros(1, H * d))[0]
    # u_t summed over heads: the o-projection of the concatenated A_h[t, 0] v_0^h, no bias
    u = o((w[:, :, 0, None] * v0[:, None, :]).permute(1, 0, 2).reshape(-1, H * d)) - bias
    if which == "remove_sink_output":
        u[0] = 0
    torch.testing.assert_close(base["out"] - ablated["out"], u, atol=1e-5, rtol=1e-4)
    assert u[1:].abs().max() > 1e-3  # the check above is not vacuous


def test_d8b_zero_value_changes_nothing_when_v0_is_already_zero(tok):
    """A zero embedding at position 0 stays zero through a bias-free Llama (RMSNorm(0) = 0,
    no biases), so v_0 = 0 in every layer and zeroing it is a no-op."""
    model = tiny.llama()
    with torch.no_grad():
        model.model.embed_tokens.weight[tok.bos_token_id] = 0
    df = ablate_first_token(model, tok, TEXT).set_index("ablation")
    assert abs(df.loc["zero_value0", "delta_loss"]) < 1e-6
    assert df.loc["zero_value0", "kl"] < 1e-9
    assert abs(df.loc["remove_sink_output", "delta_loss"]) < 1e-6
    assert abs(df.loc["mask_key0", "delta_loss"]) > 1e-6  # masking key 0 still matters


@pytest.mark.parametrize("factory", [tiny.llama, tiny.gpt2])
def test_d8_report(tok, factory):
    model = factory()
    before = model.config._attn_implementation
    df = ablate_first_token(model, tok, TEXT)
    assert tuple(df["ablation"]) == ABLATIONS
    base = df.iloc[0]
    assert base["delta_loss"] == 0 and base["kl"] == 0 and base["max_attn_key0"] > 0
    assert 0 < base["loss"] < 10
    masked = df.set_index("ablation").loc["mask_key0"]
    assert masked["max_attn_key0"] == 0 and masked["kl"] > 0
    assert (df["kl"] >= 0).all()
    _setting_columns(df, len(TEXT.split()) + 1, True)
    assert model.config._attn_implementation == before


def test_d8_rejects_encoders_and_short_or_empty_text(tok):
    with pytest.raises(TypeError, match="language-model head"):
        ablate_first_token(tiny.bert(), tok, TEXT)
    with pytest.raises(ValueError, match="at least 3 tokens"):
        ablate_first_token(tiny.llama(), tok, "the")
    with pytest.raises(ValueError, match="empty"):
        ablate_first_token(tiny.llama(), tok, "")


def test_d8_hooks_are_gone_after_an_exception(tok):
    model = tiny.llama()
    ids = tok(TEXT, return_tensors="pt")["input_ids"]
    with torch.no_grad():
        before = model(input_ids=ids).logits
        for edit in (zero_first_value, remove_sink_output):
            with pytest.raises(RuntimeError, match="boom"), eager_attention(model), edit(model):
                raise RuntimeError("boom")
        after = model(input_ids=ids).logits
    torch.testing.assert_close(before, after, atol=0, rtol=0)


# ---- D9 and the Gu protocol -----------------------------------------------------------------


def test_d9_variants_with_a_bos(tok):
    v = relocation_variants(tok, "the cat sat", prefix=".")
    ids = {name: tok.convert_ids_to_tokens(list(var.ids)) for name, var in v.items()}
    assert ids == {
        "original": ["<bos>", "the", "cat", "sat"],
        "drop_bos": ["the", "cat", "sat"],
        "replace_first": ["a", "the", "cat", "sat"],
        "prepend": [".", "<bos>", "the", "cat", "sat"],
        "repeat": ["the", "the", "the", "the"],
    }
    assert v["prepend"].old_position == 1 and v["original"].old_position == 0
    assert v["drop_bos"].old_position is None and v["repeat"].old_position is None


def test_d9_variants_without_a_bos(plain):
    v = relocation_variants(plain, "a cat sat")  # "\n" is no token here: prepend is skipped
    ids = {name: plain.convert_ids_to_tokens(list(var.ids)) for name, var in v.items()}
    assert ids == {
        "original": ["a", "cat", "sat"],
        "replace_first": ["the", "cat", "sat"],  # "a" is taken, so the next candidate
        "repeat": ["a", "a", "a"],
    }
    v = relocation_variants(plain, "a cat sat", replacement="dog", prefix=". ,")
    assert plain.convert_ids_to_tokens(list(v["replace_first"].ids))[0] == "dog"
    assert plain.convert_ids_to_tokens(list(v["prepend"].ids)) == [".", ",", "a", "cat", "sat"]
    assert v["prepend"].old_position == 2
    with pytest.raises(ValueError, match="single ordinary token"):
        relocation_variants(plain, "a cat sat", replacement="dog cat")


def test_d9_relocation_report(tok):
    df = relocation(tiny.llama(), tok, TEXT, prefix=".")
    names = ["original", "drop_bos", "replace_first", "prepend", "repeat"]
    assert list(df["variant"].unique()) == names and len(df) == 5 * 3
    assert df.groupby("variant")["T"].first().to_dict() == {
        "original": 10,
        "drop_bos": 9,
        "replace_first": 10,
        "prepend": 11,
        "repeat": 10,
    }
    orig = df[df["variant"] == "original"]
    np.testing.assert_allclose(orig["alpha_first"], orig["alpha_old"])
    assert df[df["variant"] == "drop_bos"]["alpha_old"].isna().all()
    assert ((df["alpha_first"] > 0) & (df["alpha_first"] <= 1)).all()
    assert set(df.attrs["variants"]) == set(names) and df.attrs["skipped"] == {}
    assert df.attrs["variants"]["prepend"]["tokens"][:2] == [".", "<bos>"]
    assert (df["eps"] == 0.3).all()
    skipped = relocation(tiny.llama(), tiny.tokenizer(False), TEXT).attrs["skipped"]
    assert set(skipped) == {"drop_bos", "prepend"}


def test_gu_protocol(tok):
    texts = [TEXT, "the cat sat on the mat and the dog ran"]
    df = gu_sink_rate(tiny.llama(), tok, texts, T=8, eps=(0.0, 0.3, 1.0))
    assert list(df["eps"]) == [0.0, 0.3, 1.0] and (df["T"] == 8).all()
    assert df["sink_rate"].iloc[0] == 1.0 and df["sink_rate"].iloc[-1] == 0.0
    assert df.attrs["per_text"].shape == (2, 3) and "Gu et al." in df.attrs["protocol"]
    with pytest.raises(ValueError, match="exactly T=64"):
        gu_sink_rate(tiny.llama(), tok, texts)
