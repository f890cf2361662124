"""explain(): the probe against eager attention, its edits, the bootstrap and the verdict rules,
on tiny models built in code and on hand-built inputs whose answers are known exactly."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bos_widget.explain import explain
from bos_widget.explain.collect import Measurements
from bos_widget.explain.mechanisms import massive_onset, repeated_tokens
from bos_widget.explain.passes import forward, residual
from bos_widget.explain.probe import _ACTIVE, Edit, Probe, _attention, probe
from bos_widget.explain.stats import Interval, bootstrap, combine
from bos_widget.explain.tables import Tables, cross_text_cosine, sink_median
from bos_widget.explain.verdicts import c2, c3

from . import tiny

ALLOWED = {"supported", "partly supported", "contradicted", "undecided", "not applicable"}


def _ids(n: int = 2, T: int = 12, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(4, tiny.V, (n, T), generator=g)


def _eager(model, ids):
    model.set_attn_implementation("eager")
    with torch.inference_mode():
        return model(input_ids=ids, output_attentions=True).attentions


@pytest.mark.parametrize("build", [tiny.llama, tiny.gemma2, tiny.gemma3, tiny.mistral, tiny.bert])
def test_probe_weights_equal_eager_attention(build):
    model = build()
    ids = _ids()
    reference = _eager(model, ids)
    causal = model.get_output_embeddings() is not None
    with probe(model, causal) as p:
        p.reset(measure=True)
        forward(model, ids, None)
        for l, ref in enumerate(reference):
            assert torch.allclose(p.layers[l].A, ref.float(), atol=1e-6), (build.__name__, l)
    assert model.config._attn_implementation == "eager"


def test_probe_restores_the_implementation_after_an_error():
    model = tiny.llama()
    model.set_attn_implementation("sdpa")
    with pytest.raises(RuntimeError, match="boom"), probe(model, True):
        raise RuntimeError("boom")
    assert model.config._attn_implementation == "sdpa"
    assert _ACTIVE.get() is None


def test_mask_edit_hides_key_0_from_later_queries_only():
    model, ids = tiny.llama(), _ids()
    with probe(model, True) as p:
        p.reset(measure=True, edit=Edit("mask", (0, 0)))
        forward(model, ids, None)
        for stats in p.layers.values():
            assert float(stats.A[:, :, 1:, 0].abs().max()) == 0.0
            assert float(stats.A[:, :, 0, 0].min()) == pytest.approx(1.0)
            assert torch.allclose(stats.A.sum(-1), torch.ones(()), atol=1e-5)


def _hidden(model, p, ids, edit):
    p.reset(edit=edit)
    record: list[torch.Tensor] = []
    with residual(model, record=record):
        forward(model, ids, None)
    return torch.stack(record, 1)  # [B, L + 1, T, hidden]


def test_remove_keeps_position_0s_stream_and_zero_value_does_not():
    model, ids = tiny.llama(), _ids()
    with probe(model, True) as p:
        base = _hidden(model, p, ids, None)
        removed = _hidden(model, p, ids, Edit("remove_zero", (0, 0)))
        zeroed = _hidden(model, p, ids, Edit("zero_value", (0, 0)))
        control = _hidden(model, p, ids, Edit("remove_zero", (3, 5)))
    assert torch.equal(removed[:, :, 0], base[:, :, 0])  # own stream (and so keys) intact
    assert not torch.allclose(removed[:, 2:, 1:], base[:, 2:, 1:])  # the others lose u_t
    assert not torch.allclose(zeroed[:, 2:, 0], base[:, 2:, 0])  # v_0 = 0 for itself too
    assert torch.equal(control[0, :, :4], base[0, :, :4])  # queries up to 3 see nothing new
    assert not torch.allclose(control[0, 2:, 4:], base[0, 2:, 4:])


def test_planted_key_bias_gives_exact_cosines_and_margin():
    """Every query points along e0, key 0 is 3 e0, the other keys are orthogonal to e0."""
    T, d = 5, 4
    q = torch.zeros(1, 1, T, d)
    q[..., 0] = 1.0
    k = torch.zeros(1, 1, T, d)
    k[0, 0, 0, 0] = 3.0
    k[0, 0, 1:, 1] = 1.0
    v = torch.randn(1, 1, T, d)
    causal = torch.full((T, T), torch.finfo(torch.float32).min).triu(1)[None, None]
    module = torch.nn.Identity()
    state = Probe(ov={id(module): torch.eye(d)[None]}, layer_of={id(module): 0}, causal=True)
    state.reset(measure=True)
    token = _ACTIVE.set(state)
    try:
        _attention(module, q, k, v, causal, scaling=1.0)
    finally:
        _ACTIVE.reset(token)
    stats = state.layers[0]
    assert float(stats.cos0) == pytest.approx(1.0)
    assert float(stats.cos_other) == pytest.approx(0.0, abs=1e-7)
    assert float(stats.margin) == pytest.approx(3.0)  # logit 3 against 0 for every query
    assert float(stats.knorm[0, 0, 0]) == pytest.approx(3.0)


def test_bootstrap_and_outcomes():
    iv = bootstrap(np.full(30, 0.25))
    assert (iv.mean, iv.lo, iv.hi, iv.n) == (0.25, 0.25, 0.25, 30)
    assert iv.outcome(0.2) == "for" and iv.outcome(0.3) == "against"
    assert iv.outcome(0.2, above=False) == "against"
    wide = bootstrap(np.linspace(-1, 1, 41))
    assert wide.lo < 0 < wide.hi and wide.outcome(0.0) == "undecided"
    assert bootstrap(np.array([np.nan, 1.0, 1.0])).n == 2
    assert "n=30" in str(iv)


def test_combine_reaches_every_verdict():
    assert combine(["for", "for"]) == "supported"
    assert combine(["against"]) == "contradicted"
    assert combine(["for", "against", "undecided"]) == "partly supported"
    assert combine(["for", "undecided"]) == "undecided"
    assert combine([]) == "not applicable"


def test_cross_text_cosine_and_sink_median():
    same = np.tile(np.array([1.0, 0.0]), (4, 1, 1))  # [n=4, L=1, 2]
    assert np.allclose(cross_text_cosine(same), 1.0)
    opposite = np.array([[[1.0, 0.0]], [[-1.0, 0.0]]])
    assert np.allclose(cross_text_cosine(opposite), -1.0)
    x = np.arange(8.0).reshape(2, 2, 2)
    sink = np.array([[[True, False], [False, True]], [[False] * 2] * 2])
    out = sink_median(x, sink)
    assert out[0] == 1.5 and np.isnan(out[1])


def _measurements(alpha0: np.ndarray, **arrays) -> Measurements:
    m = Measurements("planted", 16, True, False, ["a"] * len(alpha0), False, *alpha0.shape[1:], 4)
    m.per_text = {"alpha0": alpha0, **arrays}
    return m


def test_planted_massive_dimension_is_found_at_its_onset_layer():
    n, L, hidden = 6, 4, 8
    h0 = np.ones((n, L + 1, hidden))
    h0[:, 2:, 5] = 500.0  # appears at the output of block 1 and stays
    flags = np.zeros((n, L + 1))
    flags[:, 2:] = 1
    m = _measurements(np.zeros((n, L, 2)), massive0=flags, hidden_median=np.full((n, L + 1), 0.1))
    m.extra["h0"] = [h0]
    onset = massive_onset(m)
    assert onset is not None and onset["layer"] == 2 and onset["dims"] == [5]
    assert np.allclose(onset["mean"], 500.0)
    m.per_text["massive0"] = np.zeros((n, L + 1))
    assert massive_onset(m) is None


def test_repeated_tokens_under_uniform_attention_give_the_exact_causal_floor():
    """Planted: with q = 0 every causal row is uniform, so alpha[k] = mean_{q>=k} 1/(q+1)."""
    model, T = tiny.llama(), 16
    for layer in model.model.layers:
        layer.self_attn.q_proj.weight.data.zero_()
    m = _measurements(np.zeros((3, 3, 4)))
    with probe(model, True) as p:
        repeated_tokens(m, model, p, _ids(3, T))
    floor = np.array([np.mean([1 / (q + 1) for q in range(k, T)]) for k in range(T)])
    d11 = m.extra["d11"]
    assert np.allclose(d11["alpha0"], floor[0], atol=1e-6)
    assert np.allclose(d11["alpha_rest"], floor[1 : T // 2].mean(), atol=1e-6)
    assert np.allclose(d11["alpha0_heads"], floor[0], atol=1e-6)  # every layer and head


def test_c2_rule_can_come_out_every_way():
    n, L, H = 40, 2, 10
    rng = np.random.default_rng(0)
    fixed = np.zeros((n, L, H))
    fixed[:, :, :5] = 0.9  # five heads sink on every text, five never do
    assert c2(None, {"alpha0": fixed}, 0.3)["verdict"] == "supported"
    assert c2(None, {"alpha0": np.full((n, L, H), 0.9)}, 0.3)["verdict"] == "contradicted"
    switching = fixed.copy()
    switching[:, :, 5:8] = rng.choice([0.0, 0.9], size=(n, L, 3))  # active-dormant heads
    assert c2(None, {"alpha0": switching}, 0.3)["verdict"] == "partly supported"


def test_c3_rule_follows_the_planted_geometry():
    n, L, H = 30, 2, 3
    alpha0 = np.full((n, L, H), 0.9)
    rng = np.random.default_rng(1)

    def verdict(logratio: float, gap: float) -> str:
        m = _measurements(
            alpha0,
            d3_ratio0=np.full((n, L, H), np.exp(logratio)) * rng.uniform(0.99, 1.01, (n, L, H)),
            d3_ratio_ctrl=np.ones((n, L, H)),
            cos0=np.full((n, L, H), gap) + rng.normal(0, 0.01, (n, L, H)),
            cos_other=np.zeros((n, L, H)),
        )
        tables = Tables(m, 0.3)
        x = tables.x
        x["d3_logratio"] = np.log(x["d3_ratio0"]) - np.log(x["d3_ratio_ctrl"])
        x["cos_gap"] = x["cos0"] - x["cos_other"]
        return c3(m, x, tables)["verdict"]

    assert verdict(-2.0, 0.5) == "supported"
    assert verdict(2.0, -0.5) == "contradicted"
    assert verdict(-2.0, -0.5) == "partly supported"
    assert verdict(0.0, 0.5) == "undecided"


def _texts(n: int, words: int = 20) -> list[str]:
    rng = np.random.default_rng(3)
    return [" ".join(rng.choice(tiny.WORDS, size=words)) for _ in range(n)]


@pytest.mark.parametrize("build", [tiny.llama, tiny.bert])
def test_explain_end_to_end_on_a_tiny_model(build):
    model, tok = build(), tiny.tokenizer()
    report = explain(model, tok, _texts(20), T=16, n_edit=8, batch_size=8, progress=False)
    v = report.verdicts
    assert list(v["claim"]) == ["C1 gathers", "C1 hands out", "C2", "C3", "C4"]
    assert set(v["verdict"]) <= ALLOWED
    measured = v[v["verdict"] != "not applicable"]
    assert (measured["n"] > 0).all() and all(measured["numbers"])
    assert {f"D{i}" for i in range(1, 13)} == set(report.diagnostics)
    d2 = report.diagnostics["D2"]
    assert (d2["n"] == 20).all() and (d2["lo"] <= d2["mean"]).all()
    assert len(report.per_text) == 20
    html = report._repr_html_()
    assert "<svg" in html and "C1 gathers" in html
    if build is tiny.llama:  # causal: position 0 sees only itself, D6 is exactly zero
        assert report.diagnostics["D6"]["mean"].iloc[0] == 0.0
        assert v.set_index("claim").loc["C1 gathers", "verdict"] == "contradicted"
        assert v.set_index("claim").loc["C4", "verdict"] == "not applicable"
        assert len(report.diagnostics["D8"]) > 0
    else:
        assert report.diagnostics["D8"].empty


def _unseen(family: str):
    """Families no other test builds: Qwen 3 (QK-norm) and GPT-NeoX (parallel residual)."""
    import transformers as tf

    config_cls, model_cls, extra = {
        "qwen3": (tf.Qwen3Config, tf.Qwen3ForCausalLM, {"head_dim": 8, "num_key_value_heads": 2}),
        "gpt_neox": (tf.GPTNeoXConfig, tf.GPTNeoXForCausalLM, {}),
    }[family]
    cfg = config_cls(
        vocab_size=tiny.V, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, max_position_embeddings=tiny.MAX_POS, bos_token_id=1,
        eos_token_id=2, pad_token_id=0, **extra,
    )  # fmt: skip
    torch.manual_seed(0)
    return model_cls(cfg).eval()


@pytest.mark.parametrize("family", ["qwen3", "gpt_neox"])
def test_explain_works_unchanged_on_families_no_test_names(family):
    model = _unseen(family)
    reference = _eager(model, _ids())
    with probe(model, True) as p:
        p.reset(measure=True)
        forward(model, _ids(), None)
        assert all(
            torch.allclose(p.layers[l].A, r.float(), atol=1e-6) for l, r in enumerate(reference)
        )
    report = explain(model, tiny.tokenizer(), _texts(20), T=16, n_edit=8, progress=False)
    assert set(report.verdicts["verdict"]) <= ALLOWED
    assert report.diagnostics["D6"]["mean"].iloc[0] == 0.0


def test_a_masked_lm_is_read_as_bidirectional_and_gets_no_next_token_loss():
    from transformers import BertConfig, BertForMaskedLM

    torch.manual_seed(0)
    cfg = BertConfig(
        vocab_size=tiny.V, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
        intermediate_size=64, max_position_embeddings=tiny.MAX_POS,
    )  # fmt: skip
    report = explain(BertForMaskedLM(cfg).eval(), tiny.tokenizer(), _texts(20), T=16,
                     n_edit=8, progress=False)  # fmt: skip
    assert report.setting["causal"] is False
    assert report.diagnostics["D8"].empty


def test_explain_refuses_encoder_decoder_models():
    with pytest.raises(TypeError, match="encoder-decoder"):
        explain(tiny.t5(), tiny.tokenizer(), _texts(20), T=16, progress=False)


def test_explain_refuses_too_few_or_too_short_texts():
    model, tok = tiny.llama(), tiny.tokenizer()
    with pytest.raises(ValueError, match="at least 20 texts"):
        explain(model, tok, _texts(5), T=16, progress=False)
    texts = _texts(20)
    texts[7] = "the cat sat"
    with pytest.raises(ValueError, match=r"texts\[7\] \(4 tokens\)"):
        explain(model, tok, texts, T=16, progress=False)
    with pytest.raises(TypeError, match="list of strings"):
        explain(model, tok, "one text", progress=False)
    assert isinstance(Interval(1, 0, 2, 3).outcome(0.5), str)
