"""Codec layer: attention slices <-> compact bytes.

This module is the one place where arrays become bytes for the browser. Its twin is
``js/src/codec.ts``; both decode the golden fixtures ``tests/fixtures/golden*.bin`` listed in
``golden.json``. It imports neither torch nor ipywidgets.

Byte layout (version 1, all integers and floats little-endian)
----------------------------------------------------------------
====== ======== ===========================================================
offset size     field
====== ======== ===========================================================
0      4        magic ``b"BOSW"``
4      1        version, ``1``
5      1        dtype code: ``1`` = float16, ``2`` = uint8 quantised
6      1        ndim, 1 to 4
7      1        flags: bit 0 = lower-triangular packed (``FLAG_LOWER``); other bits ``0``
8      4*ndim   shape, one uint32 per axis, row-major (C order)
...    8        uint8 only: float32 ``scale`` then float32 ``offset``
...    0-7      zero padding so that the data starts at a multiple of 8
...    ...      the values, row-major; float16 as IEEE half, uint8 as ``q``
====== ======== ===========================================================

Lower-triangular packing (flag bit 0, only for a square ``[T, T]`` array whose entries above
the diagonal are all zero, e.g. causal attention): the shape stays ``[T, T]`` but the data
holds rows ``q = 0 .. T-1`` of ``q + 1`` values each (keys ``0 .. q``), concatenated:
``T (T + 1) / 2`` values. Decoders expand it to ``[T, T]`` with exact zeros above the
diagonal. Blobs with flags ``0`` (the only kind written before the flag existed) hold all
``prod(shape)`` values.

Cross-attention slices are ``[T_q, T_k]`` (decoder queries x encoder keys, shape as written,
flags ``0``; ``golden_cross_f16.bin``).

A uint8 value decodes to ``offset + scale * q``. The encoder picks ``offset = min``,
``scale = (max - min) / 255`` over the values it writes, and rounds to nearest, so every
decoded value is within ``scale / 2`` of the original (:func:`error_bound`).
"""

from __future__ import annotations

import functools
import struct
from typing import Literal, TypedDict

import numpy as np

MAGIC = b"BOSW"
VERSION = 1
DTYPE_CODES: dict[str, int] = {"float16": 1, "uint8": 2}
_CODE_NAMES = {code: name for name, code in DTYPE_CODES.items()}
FLAG_LOWER = 1

Encoding = Literal["float16", "uint8"]
FLOAT16_MAX = 65504.0
Weighting = Literal["raw", "norm"]
Pool = Literal["max", "mean"]


class _RegionRequest(TypedDict, total=False):  # optional fields (typing.NotRequired is 3.11+)
    queries: list[int]
    keys: list[int]
    bins: int
    pool: Pool


class _RegionReply(TypedDict, total=False):
    queries: list[int]
    keys: list[int]
    bins: int | None
    pool: Pool


class _SlotReply(TypedDict, total=False):
    sink_slot: int
    slot_alpha: float


class SliceRequest(_RegionRequest):
    """Message the browser sends to ask for one attention slice.

    Without the optional fields it asks for the whole ``[T, T]`` slice (pooled to
    ``slices.POOL_BINS`` above ``slices.POOL_ABOVE_T`` tokens). ``queries`` and ``keys`` are
    half-open ranges ``[start, stop)`` of the region, ``bins`` the blocks a side it may be
    pooled into (the view's pixels), ``pool`` how a block is pooled (``"max"`` by default: a
    sink column stays visible).
    """

    kind: Literal["request"]
    layer: int
    head: int  # -1 = mean over heads
    weighting: Weighting


class Settled(TypedDict):
    """The view has shown this whole slice for a while (twin: ``Settled`` in
    ``js/src/types.ts``); the widget then keeps it as the ``snapshot`` trait. No reply."""

    kind: Literal["settled"]
    layer: int
    head: int
    weighting: Weighting


class TokenStats(TypedDict):
    """Per-token numbers of one (layer, head), sent with each slice (4 significant digits).

    ``hidden_norm[t]`` is ``||h_t||`` of the residual stream after ``layer`` (SCIENCE.md D5,
    ``run.hidden_norms[layer + 1]``); ``value_norm[t]`` is ``||v_t||`` in ``head`` or the mean
    over heads for ``head == -1`` (D4), ``None`` when the run has no value norms; ``massive``
    lists the tokens holding a massive activation after ``layer`` (D5, Sun et al. 2024).
    """

    hidden_norm: list[float]
    value_norm: list[float] | None
    massive: list[int]


class SliceReply(_RegionReply, _SlotReply):
    """Message Python sends with one slice; the bytes travel as ``buffers[0]``.

    ``encoding`` is the dtype of the bytes and ``error_bound`` the largest absolute error
    decoding can show (:func:`error_bound`). ``stats`` is ``None`` for runs without
    hidden-state norms (e.g. ``from_attentions``).

    Region replies (pooled runs, or a request naming a region or bins) add ``queries`` and
    ``keys`` (the half-open ranges served), ``bins`` (blocks a side, ``None`` when every
    position is kept) and ``pool``: the slice is ``[n_q, n_k]`` with row edges
    ``metrics.bin_edges(q0, q1, bins or q1 - q0)`` (columns likewise), and ``buffers[1]``
    holds float16 ``[T]``, the D1 sink score of every key of that (layer, head, weighting).

    Runs with learned sink logits (gpt-oss, ``run.sink_slot``) add ``sink_slot``, the index of
    the buffer that holds float16 ``[n_q]``: the sink slot's column for the rows served
    (``run.slot``; pooled like the rows), and ``slot_alpha``, the slot's D1-style score in that
    (layer, head, weighting) (``metrics.slot_scores``; 0 when norm-weighted).
    """

    kind: Literal["slice"]
    layer: int
    head: int
    weighting: Weighting
    encoding: Encoding
    error_bound: float
    stats: TokenStats | None


class ErrorReply(TypedDict):
    """Message Python sends when a request cannot be served."""

    kind: Literal["error"]
    message: str


def _header(dtype_code: int, shape: tuple[int, ...], flags: int) -> bytes:
    return (
        MAGIC
        + struct.pack("<BBBB", VERSION, dtype_code, len(shape), flags)
        + struct.pack(f"<{len(shape)}I", *shape)
    )


@functools.lru_cache(maxsize=4)
def _tri(t: int) -> tuple[np.ndarray, np.ndarray]:
    """bool masks of the lower triangle (diagonal included) and of the rest, for ``[t, t]``;
    cached, since a view asks for many slices of one size."""
    lower = np.tri(t, dtype=bool)
    return lower, ~lower


def _pad(n: int) -> bytes:
    return b"\0" * (-n % 8)


def encode(array: np.ndarray, encoding: Encoding = "float16", lower: bool = False) -> bytes:
    """Encode a 1-4 dimensional float array.

    Parameters
    ----------
    array : np.ndarray
        Any float array, e.g. one attention slice ``[T, T]``. Must be finite.
    encoding : {"float16", "uint8"}
        float16 keeps about 3 significant digits; uint8 halves the bytes with the
        absolute error bound of :func:`error_bound`.
    lower : bool
        Write only the lower triangle (flag bit 0): ``array`` must be ``[T, T]`` with zeros
        above the diagonal (causal attention); about halves the bytes again.

    Returns
    -------
    bytes
        The layout described in this module's docstring.
    """
    arr = np.asarray(array)
    if arr.ndim < 1 or arr.ndim > 4:
        raise ValueError(f"Can only encode arrays with 1 to 4 axes, got shape {arr.shape}.")
    if encoding not in DTYPE_CODES:
        raise ValueError(f"Unknown encoding {encoding!r}; use 'float16' or 'uint8'.")
    if not np.all(np.isfinite(arr)):
        raise ValueError("Cannot encode NaN or infinite values; clean the array first.")
    if lower and (arr.ndim != 2 or arr.shape[0] != arr.shape[1] or arr[_tri(len(arr))[1]].any()):
        msg = "a square [T, T] array with zeros above the diagonal; use lower=False."
        raise ValueError(f"lower=True needs {msg} Got shape {arr.shape}.")
    head = _header(DTYPE_CODES[encoding], arr.shape, FLAG_LOWER if lower else 0)
    if lower:
        arr = arr[_tri(len(arr))[0]]  # rows q = 0..T-1, keys 0..q, concatenated
    if encoding == "float16":
        if arr.size and float(np.abs(arr).max()) > FLOAT16_MAX:
            raise ValueError(
                f"Values up to {float(np.abs(arr).max()):.3g} do not fit float16 (max "
                f"{FLOAT16_MAX}); use encoding='uint8', which scales to the array's range."
            )
        return head + _pad(len(head)) + np.ascontiguousarray(arr, dtype="<f2").tobytes()
    lo = float(arr.min()) if arr.size else 0.0
    hi = float(arr.max()) if arr.size else 0.0
    scale = (hi - lo) / 255.0 if hi > lo else 1.0
    work = np.result_type(arr.dtype, np.float32)  # float32 math for float32 slices: faster
    q = np.rint((arr.astype(work) - work.type(lo)) / work.type(scale)).clip(0, 255)
    q = q.astype(np.uint8)
    head += struct.pack("<ff", scale, lo)
    return head + _pad(len(head)) + np.ascontiguousarray(q).tobytes()


def decode(blob: bytes | bytearray | memoryview) -> np.ndarray:
    """Decode bytes written by :func:`encode` (or by the JS twin) to a float32 array of
    the encoded shape (lower-triangular blobs expand to ``[T, T]``, zeros above)."""
    buf = memoryview(blob).cast("B")
    if len(buf) < 8 or bytes(buf[:4]) != MAGIC:
        raise ValueError("Not a bos_widget slice: the first 4 bytes are not b'BOSW'.")
    version, code, ndim, flags = struct.unpack_from("<BBBB", buf, 4)
    if version != VERSION:
        raise ValueError(f"Slice format version {version} is not supported (expected {VERSION}).")
    if code not in _CODE_NAMES or not 1 <= ndim <= 4 or flags & ~FLAG_LOWER:
        raise ValueError(f"Corrupt slice header: dtype code {code}, ndim {ndim}, flags {flags}.")
    shape = struct.unpack_from(f"<{ndim}I", buf, 8)
    lower = bool(flags & FLAG_LOWER)
    if lower and (ndim != 2 or shape[0] != shape[1]):
        raise ValueError(f"Corrupt slice header: lower-triangular flag on shape {shape}.")
    pos = 8 + 4 * ndim
    count = shape[0] * (shape[0] + 1) // 2 if lower else int(np.prod(shape))
    if _CODE_NAMES[code] == "float16":
        pos += -pos % 8
        out = np.frombuffer(buf, dtype="<f2", count=count, offset=pos).astype(np.float32)
    else:
        scale, offset = struct.unpack_from("<ff", buf, pos)
        pos += 8 + (-(pos + 8) % 8)
        q = np.frombuffer(buf, dtype=np.uint8, count=count, offset=pos)
        out = (offset + scale * q.astype(np.float32)).astype(np.float32)
    if not lower:
        return out.reshape(shape)
    full = np.zeros(shape, dtype=np.float32)
    full[_tri(shape[0])[0]] = out
    return full


def error_bound(array: np.ndarray, encoding: Encoding) -> float:
    """Largest absolute decoding error :func:`encode` can introduce for ``array``.

    For float16 it is half a unit in the last place at the array's largest magnitude
    (relative 2**-11); for uint8 it is ``scale / 2`` (plus float32 rounding).
    """
    arr = np.asarray(array)
    if arr.size == 0:
        return 0.0
    lo, hi = float(arr.min()), float(arr.max())
    top = max(abs(lo), abs(hi))
    if encoding == "float16":
        return top * 2.0**-11 + 2.0**-25
    return (hi - lo) / 255.0 / 2.0 + 1e-6 * max(1.0, top)
