"""The byte layout, checked against the golden fixtures the JS twin decodes too."""

import json
from pathlib import Path

import numpy as np
import pytest

from bos_widget import codec

FIXTURES = Path(__file__).parent.parent / "fixtures"


@pytest.mark.parametrize("name", ["golden_f16.bin", "golden_u8.bin"])
def test_golden_fixture_decodes_to_the_stated_values(name):
    expected = json.loads((FIXTURES / "golden.json").read_text())[name]
    got = codec.decode((FIXTURES / name).read_bytes())
    assert list(got.shape) == expected["shape"]
    np.testing.assert_allclose(got.ravel(), expected["values"], atol=expected["tolerance"] + 1e-7)


def test_golden_fixture_is_what_encode_writes_today():
    expected = json.loads((FIXTURES / "golden.json").read_text())["golden_f16.bin"]
    arr = np.array(expected["values"], dtype=np.float32).reshape(expected["shape"])
    assert codec.encode(arr, "float16") == (FIXTURES / "golden_f16.bin").read_bytes()


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
