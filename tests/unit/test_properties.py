"""Property tests (hypothesis): invariants that must hold for any input, not just examples."""

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from bos_widget.analysis import metrics
from bos_widget.transport import codec

shapes = hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=6)
finite = st.floats(-6e4, 6e4, allow_nan=False, allow_infinity=False, width=32)


@settings(max_examples=200, deadline=None)
@given(hnp.arrays(np.float32, shapes, elements=finite), st.sampled_from(["float16", "uint8"]))
def test_codec_round_trip_within_the_stated_bound(arr, encoding):
    out = codec.decode(codec.encode(arr, encoding))
    assert out.shape == arr.shape
    assert np.abs(out.astype(np.float64) - arr).max() <= codec.error_bound(arr, encoding)


@settings(max_examples=150, deadline=None)
@given(
    st.integers(1, 24).flatmap(
        lambda t: hnp.arrays(np.float32, (t, t), elements=st.floats(0, 1, width=32))
    ),
    st.sampled_from(["float16", "uint8"]),
)
def test_lower_triangular_packing_round_trips_to_the_full_matrix(arr, encoding):
    low = np.tril(arr)
    blob = codec.encode(low, encoding, lower=True)
    T = low.shape[0]
    out = codec.decode(blob)
    assert out.shape == (T, T) and blob[7] == codec.FLAG_LOWER
    assert (out[np.triu_indices(T, 1)] == 0).all()  # above the diagonal: exact zeros
    assert np.abs(out.astype(np.float64) - low).max() <= codec.error_bound(low, encoding)
    item = 2 if encoding == "float16" else 1
    assert len(blob) - T * (T + 1) // 2 * item == len(codec.encode(low[:1, :1], encoding)) - item


@st.composite
def attention(draw, max_t=7):
    """Row-stochastic [L, H, T, T] attention, causal or not."""
    L, H, T = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, max_t))
    causal = draw(st.booleans())
    logits = draw(hnp.arrays(np.float64, (L, H, T, T), elements=st.floats(-8, 8)))
    if causal:
        logits = np.where(np.triu(np.ones((T, T), bool), 1), -np.inf, logits)
    weights = np.exp(logits - logits.max(-1, keepdims=True))
    return (weights / weights.sum(-1, keepdims=True)).astype(np.float32), causal


@settings(max_examples=150, deadline=None)
@given(attention())
def test_sink_scores_lie_in_unit_interval(case):
    att, causal = case
    alpha = metrics.sink_scores(att, causal)
    assert alpha.shape == att.shape[:-1]
    assert (alpha >= -1e-6).all() and (alpha <= 1 + 1e-5).all()


@settings(max_examples=150, deadline=None)
@given(attention(), st.lists(st.floats(0, 1), min_size=2, max_size=6))
def test_sink_rate_is_monotone_in_eps(case, eps_values):
    att, causal = case
    alpha0 = metrics.sink_scores(att, causal)[..., 0]
    rates = [metrics.sink_rate(alpha0, e) for e in sorted(eps_values)]
    assert all(a >= b for a, b in itertools.pairwise(rates))


@settings(max_examples=150, deadline=None)
@given(attention(), st.data())
def test_norm_weighted_shares_sum_to_one_per_query(case, data):
    att, _ = case
    norms = data.draw(
        hnp.arrays(np.float32, att.shape[:-2] + att.shape[-1:], elements=st.floats(0.01, 100))
    )
    shares = metrics.norm_weighted(att, norms)
    np.testing.assert_allclose(shares.sum(-1), 1.0, rtol=1e-4)
    assert (shares >= 0).all()
