"""The byte layout, checked against the golden fixtures the JS twin decodes too."""

import json
from pathlib import Path

import numpy as np
import pytest

from bos_widget.analysis import metrics
from bos_widget.transport import codec

FIXTURES = Path(__file__).parent.parent / "fixtures"


GOLDEN = ["golden_f16.bin", "golden_u8.bin", "golden_tri_u8.bin", "golden_cross_f16.bin"]


@pytest.mark.parametrize("name", GOLDEN)
def test_golden_fixture_decodes_to_the_stated_values(name):
    expected = json.loads((FIXTURES / "golden.json").read_text())[name]
    got = codec.decode((FIXTURES / name).read_bytes())
    assert list(got.shape) == expected["shape"]
    np.testing.assert_allclose(got.ravel(), expected["values"], atol=expected["tolerance"] + 1e-7)


@pytest.mark.parametrize(
    ("name", "encoding", "lower"),
    [
        ("golden_f16.bin", "float16", False),
        ("golden_tri_u8.bin", "uint8", True),
        ("golden_cross_f16.bin", "float16", False),  # [T_q, T_k]: never packed
    ],
)
def test_golden_fixture_is_what_encode_writes_today(name, encoding, lower):
    expected = json.loads((FIXTURES / "golden.json").read_text())[name]
    arr = np.array(expected["values"], dtype=np.float64).reshape(expected["shape"])
    assert codec.encode(arr, encoding, lower) == (FIXTURES / name).read_bytes()


def test_lower_triangular_fixture_sets_flag_bit_0_and_holds_t_t_plus_1_over_2_values():
    blob = (FIXTURES / "golden_tri_u8.bin").read_bytes()
    assert blob[7] == codec.FLAG_LOWER
    assert len(blob) == 24 + 4 * 5 // 2  # 16-byte header, scale and offset, then 10 values
    out = codec.decode(blob)
    assert not np.triu(out, 1).any()


@pytest.mark.parametrize("encoding", ["float16", "uint8"])
@pytest.mark.parametrize("T", [1, 2, 5, 33])
def test_lower_triangular_round_trip_is_the_full_matrix_within_the_bound(encoding, T):
    arr = np.tril(np.random.default_rng(T).random((T, T))).astype(np.float32)
    blob = codec.encode(arr, encoding, lower=True)
    out = codec.decode(blob)
    assert out.shape == (T, T)
    assert (np.triu(out, 1) == 0).all()
    assert np.abs(out - arr).max() <= codec.error_bound(arr, encoding)
    assert len(blob) < len(codec.encode(arr, encoding)) or T == 1


def test_lower_triangular_packing_halves_a_causal_slice():
    arr = np.tril(np.random.default_rng(3).random((256, 256)))
    full, packed = codec.encode(arr, "uint8"), codec.encode(arr, "uint8", lower=True)
    assert len(packed) < 0.51 * len(full)


@pytest.mark.parametrize("arr", [np.ones((3, 3)), np.zeros((2, 3)), np.zeros(4)])
def test_lower_refuses_arrays_that_are_not_lower_triangular_squares(arr):
    with pytest.raises(ValueError, match="lower=False"):
        codec.encode(arr, "float16", lower=True)


def test_decode_rejects_unknown_flags_and_a_packed_flag_on_a_non_square_shape():
    blob = bytearray(codec.encode(np.zeros((2, 3))))
    blob[7] = 2
    with pytest.raises(ValueError, match="flags 2"):
        codec.decode(bytes(blob))
    blob[7] = codec.FLAG_LOWER
    with pytest.raises(ValueError, match="lower-triangular"):
        codec.decode(bytes(blob))


@pytest.mark.parametrize("encoding", ["float16", "uint8"])
@pytest.mark.parametrize("shape", [(5,), (3, 7), (2, 3, 4), (1, 2, 3, 5)])
def test_round_trip_within_error_bound(encoding, shape):
    rng = np.random.default_rng(1)
    arr = rng.random(shape).astype(np.float32)
    out = codec.decode(codec.encode(arr, encoding))
    assert out.shape == arr.shape
    assert np.abs(out - arr).max() <= codec.error_bound(arr, encoding)


def test_data_starts_on_an_8_byte_boundary():
    blob = codec.encode(np.zeros((3, 3)), "float16")
    assert (len(blob) - 9 * 2) % 8 == 0


def test_uint8_is_half_the_bytes_of_float16():
    arr = np.random.default_rng(2).random((64, 64))
    assert len(codec.encode(arr, "uint8")) < 0.55 * len(codec.encode(arr, "float16"))


@pytest.mark.parametrize(
    ("blob", "message"),
    [(b"NOPE" + bytes(12), "BOSW"), (b"BOSW\x09\x01\x01\x00" + bytes(8), "version")],
)
def test_decode_rejects_foreign_bytes(blob, message):
    with pytest.raises(ValueError, match=message):
        codec.decode(blob)


def test_encode_rejects_nan_and_bad_rank():
    with pytest.raises(ValueError, match="NaN"):
        codec.encode(np.array([1.0, np.nan]))
    with pytest.raises(ValueError, match="1 to 4 axes"):
        codec.encode(np.zeros((1, 1, 1, 1, 1)))


def test_float16_refuses_values_it_cannot_hold_and_uint8_takes_them():
    big = np.array([1.0, 1e5])
    with pytest.raises(ValueError, match="uint8"):
        codec.encode(big, "float16")
    np.testing.assert_allclose(codec.decode(codec.encode(big, "uint8")), big, rtol=1e-2)


@pytest.mark.parametrize("how", ["max", "mean"])
def test_a_pooled_causal_slice_packs_as_its_lower_triangle_and_a_region_travels_whole(how):
    """Pooled slices (slices.POOL_ABOVE_T): on one set of edges a causal map's blocks above the
    diagonal are all zero, so the lower-triangular packing applies; a block of other rows and
    columns is a plain [R, C] array."""
    rng = np.random.default_rng(3)
    a = np.tril(rng.random((37, 37))).astype(np.float32)
    a /= a.sum(-1, keepdims=True)
    edges = metrics.bin_edges(0, 37, 8)
    pooled = metrics.pool(a, edges, edges, how)
    blob = codec.encode(pooled, "uint8", lower=True)
    assert blob[7] == codec.FLAG_LOWER
    bound = codec.error_bound(pooled, "uint8")
    np.testing.assert_allclose(codec.decode(blob), pooled, atol=bound)
    block = metrics.pool(
        a[20:37, 3:13], metrics.bin_edges(0, 17, 8), metrics.bin_edges(0, 10, 5), how
    )
    blob = codec.encode(block, "uint8")
    assert codec.decode(blob).shape == (8, 5) and blob[7] == 0
    np.testing.assert_allclose(codec.decode(blob), block, atol=codec.error_bound(block, "uint8"))
