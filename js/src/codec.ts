// Codec: bytes <-> arrays for attention slices (twin of bos_widget/transport/codec.py; layout
// below).
//
// offset 0: "BOSW" | 4: u8 version=1 | 5: u8 dtype (1 float16, 2 uint8) | 6: u8 ndim (1..4)
// 7: u8 flags (bit 0: lower-triangular packed; other bits 0) | 8: ndim x u32 shape | uint8
// only: f32 scale, f32 offset | zero pad to a multiple of 8 | data row-major. uint8 q decodes
// to offset + scale * q. All little-endian. Lower-triangular packed: shape stays [T, T], the
// data holds rows q = 0..T-1 of q + 1 values (keys 0..q) concatenated, T(T+1)/2 values; it
// decodes to [T, T] with zeros above the diagonal. Flags 0 = all prod(shape) values.
// Cross-attention slices are [Tq, Tk] (decoder queries x encoder keys), flags 0.

import type { Bytes, Decoded } from "./types";

export const VERSION = 1;
export const DTYPE_F16 = 1;
export const DTYPE_U8 = 2;
export const FLAG_LOWER = 1;
const MAGIC = [0x42, 0x4f, 0x53, 0x57]; // "BOSW"

let halfTable: Float32Array | null = null;

/** Convert one IEEE 754 half (as uint16 bits) to a number; handles subnormals, inf, NaN. */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24; // zero and subnormals
  if (exp === 0x1f) return frac ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** Round a number to the nearest IEEE half (ties to even); returns the uint16 bits. */
export function floatToHalf(x: number): number {
  if (Number.isNaN(x)) return 0x7e00;
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  if (a >= 65520) return sign | 0x7c00; // rounds to infinity
  if (a < 2 ** -14) {
    // subnormal: value = frac * 2^-24
    return sign | roundEven(a * 2 ** 24);
  }
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e -= 1; // guard log2 rounding
  if (2 ** (e + 1) <= a) e += 1;
  let frac = roundEven((a / 2 ** e - 1) * 1024);
  if (frac === 1024) {
    frac = 0;
    e += 1;
  }
  if (e + 15 >= 0x1f) return sign | 0x7c00;
  return sign | ((e + 15) << 10) | frac;
}

function roundEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

function table(): Float32Array {
  if (!halfTable) {
    halfTable = new Float32Array(65536);
    for (let i = 0; i < 65536; i++) halfTable[i] = halfToFloat(i);
  }
  return halfTable;
}

function asView(bytes: Bytes): DataView {
  if (bytes instanceof DataView) return bytes;
  if (ArrayBuffer.isView(bytes))
    return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return new DataView(bytes);
}

/** Decode one BOSW blob to float32. Throws an Error with a readable sentence when malformed. */
export function decode(bytes: Bytes): Decoded {
  const dv = asView(bytes);
  if (dv.byteLength < 8)
    throw new Error(`Slice too short (${dv.byteLength} bytes): not BOSW data.`);
  for (let i = 0; i < 4; i++) {
    if (dv.getUint8(i) !== MAGIC[i]) throw new Error("Bad magic: the bytes are not a BOSW slice.");
  }
  const version = dv.getUint8(4);
  if (version !== VERSION) {
    throw new Error(
      `Unsupported BOSW version ${version}; this front end reads version ${VERSION}.`,
    );
  }
  const dtype = dv.getUint8(5);
  const ndim = dv.getUint8(6);
  const flags = dv.getUint8(7);
  if (ndim < 1 || ndim > 4) throw new Error(`Bad ndim ${ndim}: expected 1 to 4 axes.`);
  if (dtype !== DTYPE_F16 && dtype !== DTYPE_U8) throw new Error(`Unknown dtype code ${dtype}.`);
  if (flags & ~FLAG_LOWER) throw new Error(`Unknown flags ${flags} in the slice header.`);
  const lower = (flags & FLAG_LOWER) !== 0;
  let pos = 8;
  if (dv.byteLength < pos + 4 * ndim) throw new Error("Slice truncated inside its shape.");
  const shape: number[] = [];
  let n = 1;
  for (let i = 0; i < ndim; i++) {
    const s = dv.getUint32(pos, true);
    shape.push(s);
    n *= s;
    pos += 4;
  }
  if (lower && (ndim !== 2 || shape[0] !== shape[1])) {
    throw new Error(`Lower-triangular flag on shape [${shape.join(", ")}]: not a square slice.`);
  }
  const count = lower ? (shape[0] * (shape[0] + 1)) / 2 : n;
  let scale = 1;
  let offset = 0;
  if (dtype === DTYPE_U8) {
    if (dv.byteLength < pos + 8) throw new Error("Slice truncated inside its scale/offset.");
    scale = dv.getFloat32(pos, true);
    offset = dv.getFloat32(pos + 4, true);
    pos += 8;
  }
  pos += (8 - (pos % 8)) % 8;
  const itemSize = dtype === DTYPE_F16 ? 2 : 1;
  if (dv.byteLength < pos + count * itemSize) {
    throw new Error(`Slice truncated: expected ${count} values after a ${pos}-byte header.`);
  }
  const out = new Float32Array(n);
  // the stream as runs: one run of n values, or (packed) row q's keys 0..q at out[q * T]
  const T = shape[0];
  const runs = lower ? T : 1;
  const t = dtype === DTYPE_F16 ? table() : null;
  const u8 = t ? null : new Uint8Array(dv.buffer, dv.byteOffset + pos, count);
  let j = 0;
  for (let q = 0; q < runs; q++) {
    const base = lower ? q * T : 0;
    const len = lower ? q + 1 : n;
    if (t) {
      for (let k = 0; k < len; k++, j++) out[base + k] = t[dv.getUint16(pos + 2 * j, true)];
    } else if (u8) {
      for (let k = 0; k < len; k++, j++) out[base + k] = offset + scale * u8[j];
    }
  }
  return { shape, data: out };
}

/**
 * Encode an array in the same layout (used by tests and the dev harness's fake model).
 * `lower`: write only the lower triangle of a square [T, T] array whose entries above the
 * diagonal are zero (throws otherwise).
 */
export function encode(
  shape: number[],
  full: ArrayLike<number>,
  dtype: "float16" | "uint8" = "float16",
  lower = false,
): ArrayBuffer {
  if (shape.length < 1 || shape.length > 4) throw new Error("encode: 1 to 4 axes.");
  const total = shape.reduce((a, b) => a * b, 1);
  if (total !== full.length)
    throw new Error(`encode: shape has ${total} values, data ${full.length}.`);
  const data = lower ? packLower(shape, full) : full;
  const n = data.length;
  const u8 = dtype === "uint8";
  let head = 8 + 4 * shape.length + (u8 ? 8 : 0);
  head += (8 - (head % 8)) % 8;
  const buf = new ArrayBuffer(head + n * (u8 ? 1 : 2));
  const dv = new DataView(buf);
  MAGIC.forEach((b, i) => {
    dv.setUint8(i, b);
  });
  dv.setUint8(4, VERSION);
  dv.setUint8(5, u8 ? DTYPE_U8 : DTYPE_F16);
  dv.setUint8(6, shape.length);
  dv.setUint8(7, lower ? FLAG_LOWER : 0);
  shape.forEach((s, i) => {
    dv.setUint32(8 + 4 * i, s, true);
  });
  if (!u8) {
    for (let i = 0; i < n; i++) dv.setUint16(head + 2 * i, floatToHalf(data[i]), true);
    return buf;
  }
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < n; i++) {
    lo = Math.min(lo, data[i]);
    hi = Math.max(hi, data[i]);
  }
  if (n === 0) lo = hi = 0;
  const scale = hi > lo ? (hi - lo) / 255 : 1;
  const p = 8 + 4 * shape.length;
  dv.setFloat32(p, scale, true);
  dv.setFloat32(p + 4, lo, true);
  for (let i = 0; i < n; i++) {
    dv.setUint8(head + i, Math.max(0, Math.min(255, Math.round((data[i] - lo) / scale))));
  }
  return buf;
}

/** The lower triangle of a square [T, T] array, rows concatenated (keys 0..q of row q). */
export function packLower(shape: number[], data: ArrayLike<number>): Float64Array {
  const T = shape[0];
  if (shape.length !== 2 || shape[1] !== T) throw new Error("encode: lower needs [T, T].");
  const out = new Float64Array((T * (T + 1)) / 2);
  let j = 0;
  for (let q = 0; q < T; q++) {
    for (let k = 0; k < T; k++) {
      if (k <= q) out[j++] = data[q * T + k];
      else if (data[q * T + k] !== 0)
        throw new Error(`encode: A[${q}, ${k}] is above the diagonal and not 0.`);
    }
  }
  return out;
}
