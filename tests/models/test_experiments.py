"""The model re-running diagnostics (D6-D9, Gu protocol) on the real offline models.

Measured numbers go into the assertion messages so that a failure says what the model did.
"""

import numpy as np

from bos_widget import capture
from bos_widget.analysis import metrics
from bos_widget.analysis.experiments import (
    ablate_first_token,
    bos_invariance,
    gu_sink_rate,
    relocation,
    sink_output,
)

SENTENCE = (
    "The old lighthouse keeper climbed the stairs every evening to light the lamp, "
    "because ships still passed the rocks at night."
)
OTHER = "The quick brown fox jumps over the lazy dog while the farmer sleeps in the barn."
LONG = (
    "The history of the city begins with a small fishing village on the northern bank of the "
    "river. Over the centuries, merchants built warehouses along the water, and the village "
    "grew into a busy port. In the eighteenth century a stone bridge replaced the old ferry, "
    "and new streets spread up the hill. Today the old harbour is a museum, and visitors walk "
    "along the quays where ships once unloaded wool, timber and wine from distant countries.",
    "Scientists have long wondered how birds find their way across thousands of kilometres "
    "each year. Experiments show that many species use the position of the sun during the day "
    "and the stars at night, while others seem to sense the magnetic field of the earth. Young "
    "birds often learn the route by following older ones, and some return to the very same "
    "tree every spring after a journey of months.",
)


def test_smollm2_first_state_is_the_same_in_every_layer(smollm2):
    model, tok = smollm2
    df = bos_invariance(model, tok, SENTENCE, OTHER)
    assert len(df) == 31 and df.attrs["setting"]["first_token"] == "The"
    worst = float(df["rel_diff"].max())
    assert worst < 1e-4, f"max relative difference of h_0 over layers: {worst:.3g}"


def test_minilm_cls_state_depends_on_the_sentence(minilm):
    model, tok = minilm
    df = bos_invariance(model, tok, SENTENCE, OTHER)
    diffs = df["rel_diff"].to_numpy()
    assert diffs[0] < 1e-6  # the [CLS] embedding itself is shared
    assert (diffs[1:] > 1e-3).all() and diffs.max() > 0.1, f"per layer: {np.round(diffs, 4)}"


def test_sink_output_is_constant_in_smollm2_not_in_minilm(smollm2, minilm):
    df = sink_output(*smollm2, [SENTENCE, OTHER])
    sink = df[df["attn0"] > 0.3]
    assert len(sink) > 100
    np.testing.assert_allclose(sink["cos_inputs"], 1.0, atol=1e-5)
    bert = sink_output(*minilm, [SENTENCE, OTHER])
    lowest = float(bert["cos_inputs"].min())
    assert lowest < 0.95, f"lowest cosine of [CLS]'s u_t across inputs: {lowest:.3f}"


def test_smollm2_first_token_ablations(smollm2):
    """Both ablations hurt SmolLM2. Note: zeroing the first token's value hurts as much as or
    more than masking it (measured: mask +0.85 nats, zero v_0 +1.48, remove u_t +3.83). The
    sink hands out a large constant vector (D7: ||u_t|| / ||o_t|| ~ 0.6 in sink heads) that
    later layers rely on, so "(b) barely matters" does not hold for this model."""
    model, tok = smollm2
    df = ablate_first_token(model, tok, SENTENCE).set_index("ablation")
    numbers = df[["loss", "delta_loss", "kl"]].round(3).to_dict("index")
    assert df.loc["mask_key0", "max_attn_key0"] == 0
    assert df.loc["none", "max_attn_key0"] > 0.9
    assert df.loc["mask_key0", "delta_loss"] > 0.3, numbers
    assert df.loc["zero_value0", "delta_loss"] > 0.3, numbers
    assert df.loc["remove_sink_output", "delta_loss"] > 0.3, numbers
    ratio = df.loc["zero_value0", "delta_loss"] / df.loc["mask_key0", "delta_loss"]
    assert ratio > 1, f"delta(zero v_0) / delta(mask key 0) = {ratio:.2f}; {numbers}"


def test_smollm2_norm_weighted_share_is_below_raw_share_on_the_sink(smollm2):
    run = capture(*smollm2, SENTENCE)
    raw = metrics.first_token_scores(run.attention)
    weighted = metrics.first_token_scores(run.attention, run.output_norms)
    sink = raw > 0.3
    below = float(np.mean(weighted[sink] < raw[sink]))
    ratio = float(np.median(weighted[sink] / raw[sink]))
    msg = f"{sink.sum()} sink heads; norm share below raw in {below:.1%}; median ratio {ratio:.2f}"
    assert below > 0.9 and ratio < 0.85, msg


def test_smollm2_sink_stays_at_position_zero(smollm2):
    model, tok = smollm2
    df = relocation(model, tok, SENTENCE)
    summary = df.attrs["variants"]
    assert set(summary) == {"original", "replace_first", "prepend", "repeat"}
    assert df.attrs["skipped"] == {"drop_bos": "the tokenizer adds no BOS"}
    for name in ("original", "replace_first", "prepend"):
        assert summary[name]["strongest"] == 0, (name, summary[name])
        assert summary[name]["sink_rate"] > 0.5, (name, summary[name])
    prepend = df[df["variant"] == "prepend"]
    first, old = prepend["alpha_first"].mean(), prepend["alpha_old"].mean()
    assert summary["prepend"]["tokens"][:2] == ["Ċ", "The"]
    assert old < 0.25 * first, f"'\\n' at 0: alpha {first:.3f}; 'The' moved to 1: {old:.3f}"


def test_gu_protocol_on_both_models(smollm2, minilm):
    for (model, tok), bos in ((smollm2, False), (minilm, True)):
        df = gu_sink_rate(model, tok, list(LONG))
        assert (df["T"] == 64).all() and (df["bos_added"] == bos).all()
        r03, r08 = df["sink_rate"].tolist()
        assert 0.3 < r03 < 1 and r08 < r03, (df.attrs["setting"]["model"], r03, r08)
