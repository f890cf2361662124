"""Metrics on hand-built attention whose sink scores are known exactly."""

import json
from pathlib import Path

import numpy as np
import pytest

from bos_widget.analysis import metrics

# the sink rule the front end applies too (js/test/sinks.test.ts reads the same file)
SINKS = json.loads((Path(__file__).parent.parent / "fixtures" / "sinks.json").read_text())


def causal_first_token(t: int, w0: float) -> np.ndarray:
    """Causal [T, T]: every query q > 0 puts w0 on key 0 and spreads the rest evenly."""
    a = np.zeros((t, t), dtype=np.float32)
    a[0, 0] = 1.0
    for q in range(1, t):
        a[q, 0] = w0
        a[q, 1 : q + 1] = (1 - w0) / q
    return a


def test_sink_score_causal_counts_only_queries_at_or_after_key():
    a = causal_first_token(5, 0.5)
    alpha = metrics.sink_scores(a, causal=True)
    # key 0 sees queries 0..4: (1 + 4 * 0.5) / 5
    assert alpha[0] == pytest.approx(3.0 / 5)
    # key 4 sees only query 4, which gives it (1 - 0.5) / 4
    assert alpha[4] == pytest.approx(0.125)
    # key 1: queries 1..4 give 0.5, 0.25, 0.5/3, 0.125
    assert alpha[1] == pytest.approx((0.5 + 0.25 + 0.5 / 3 + 0.125) / 4)


def test_sink_score_bidirectional_averages_over_all_queries():
    a = np.full((4, 4), 0.25, dtype=np.float32)
    a[:, 0] = 0.7
    a[:, 1:] = 0.1
    alpha = metrics.sink_scores(a, causal=False)
    np.testing.assert_allclose(alpha, [0.7, 0.1, 0.1, 0.1], rtol=1e-6)


def test_sink_scores_stack_matches_per_head_and_accepts_float16():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(3, 2, 6, 6))
    mask = np.triu(np.ones((6, 6), bool), 1)
    logits[..., mask] = -np.inf
    att = np.exp(logits)
    att /= att.sum(-1, keepdims=True)
    stacked = metrics.sink_scores(att.astype(np.float16), causal=True)
    assert stacked.shape == (3, 2, 6)
    assert stacked.dtype == np.float32
    np.testing.assert_allclose(stacked[2, 1], metrics.sink_scores(att[2, 1], True), atol=2e-3)


def test_sink_rate_counts_heads_strictly_above_eps():
    alpha0 = np.array([[0.9, 0.3], [0.31, 0.1]])
    assert metrics.sink_rate(alpha0, 0.3) == 0.5
    assert metrics.sink_rate(alpha0, 0.8) == 0.25
    assert metrics.sink_rate(alpha0, 0.0) == 1.0


@pytest.mark.parametrize("case", SINKS["rate"])
def test_sink_rate_follows_the_shared_fixture(case):
    assert metrics.sink_rate(np.array(case["alpha0"]), case["eps"]) == case["rate"]


@pytest.mark.parametrize("case", SINKS["support"])
def test_query_support_follows_the_shared_fixture(case):
    T, causal = case["T"], case["causal"]
    assert metrics.query_counts(T, T, causal).tolist() == case["queries"]
    assert metrics.supported_keys(T, causal).tolist() == case["supported"]


def test_norm_weighted_share_moves_mass_away_from_a_small_value():
    a = np.array([[1.0, 0.0], [0.8, 0.2]], dtype=np.float32)
    norms = np.array([0.1, 1.0], dtype=np.float32)  # the sink's value vector is tiny
    share = metrics.norm_weighted(a, norms)
    np.testing.assert_allclose(share.sum(-1), 1.0, rtol=1e-6)
    # query 1: N = [0.08, 0.2] -> share on key 0 = 0.08 / 0.28
    assert share[1, 0] == pytest.approx(0.08 / 0.28)
    assert share[1, 0] < a[1, 0]


def test_norm_weighted_zero_norm_row_stays_zero():
    share = metrics.norm_weighted(np.array([[1.0, 0.0]]), np.array([0.0, 3.0]))
    np.testing.assert_array_equal(share, [[0.0, 0.0]])


def test_drain_ratio_of_a_small_first_value():
    norms = np.array([[1.0, 4.0, 4.0, 4.0], [2.0, 1.0, 2.0, 3.0]])
    np.testing.assert_allclose(metrics.drain_ratio(norms), [0.25, 1.0])


def test_residual_peak_and_massive_activation_flags():
    hidden_norms = np.array([[1.0, 1.0, 1.0], [50.0, 2.0, 1.0]])
    np.testing.assert_allclose(metrics.residual_peak(hidden_norms), [1.0, 25.0])
    max_abs = np.array([[150.0, 3.0, 2.0], [150.0, 3.0, 2.0]])
    median = np.array([0.1, 0.5])
    flags = metrics.massive_activations(max_abs, median)
    # 150 > 100 and > 1000 * 0.1, but not > 1000 * 0.5
    np.testing.assert_array_equal(flags, [[True, False, False], [False, False, False]])


def test_head_mean():
    att = np.stack([np.eye(3), np.full((3, 3), 1 / 3)]).astype(np.float16)
    np.testing.assert_allclose(metrics.head_mean(att)[0], [2 / 3, 1 / 6, 1 / 6], atol=1e-3)


def test_first_token_scores_match_the_full_sink_scores():
    rng = np.random.default_rng(3)
    att = rng.random((2, 3, 5, 5)).astype(np.float32)
    att = np.tril(att)
    att /= att.sum(-1, keepdims=True)
    np.testing.assert_allclose(
        metrics.first_token_scores(att), metrics.sink_scores(att, causal=True)[..., 0], rtol=1e-5
    )
    norms = rng.random((2, 3, 5)).astype(np.float32) + 0.1
    shares = metrics.norm_weighted(att, norms)
    np.testing.assert_allclose(
        metrics.first_token_scores(att, norms),
        metrics.sink_scores(shares, causal=True)[..., 0],
        rtol=1e-5,
    )


def test_supported_keys_excludes_the_last_causal_keys_only():
    np.testing.assert_array_equal(
        metrics.supported_keys(6, causal=True), [True, True, True, False, False, False]
    )
    assert metrics.supported_keys(6, causal=False).all()
    assert metrics.supported_keys(2, causal=True).tolist() == [True, False]


def test_is_causal_reads_the_upper_triangle():
    lower = np.tril(np.full((2, 4, 4), 0.25))
    assert metrics.is_causal(lower)
    lower[1, 0, 3] = 1e-9
    assert not metrics.is_causal(lower)
    assert not metrics.is_causal(np.ones((1, 1)))  # one token says nothing
