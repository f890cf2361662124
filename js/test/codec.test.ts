import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { decode, encode, FLAG_LOWER, floatToHalf, halfToFloat } from "../src/codec";

const FIX = resolve(__dirname, "../../tests/fixtures");

interface Golden {
  shape: number[];
  values: number[];
  tolerance: number;
}

describe("golden fixtures shared with pytest", () => {
  const golden = JSON.parse(readFileSync(resolve(FIX, "golden.json"), "utf8")) as Record<
    string,
    Golden
  >;
  const files = Object.keys(golden);

  it("lists both dtypes and the lower-triangular packing", () => {
    expect(files).toEqual(
      expect.arrayContaining(["golden_f16.bin", "golden_u8.bin", "golden_tri_u8.bin"]),
    );
  });

  it("writes golden_cross_f16.bin byte for byte ([Tq, Tk] cross-attention, never packed)", () => {
    const want = new Uint8Array(readFileSync(resolve(FIX, "golden_cross_f16.bin")));
    const g = golden["golden_cross_f16.bin"];
    expect(g.shape).toEqual([3, 5]);
    const got = new Uint8Array(encode(g.shape, g.values, "float16"));
    expect(want[7]).toBe(0);
    expect(Array.from(got)).toEqual(Array.from(want));
  });

  it("writes golden_tri_u8.bin byte for byte (flag bit 0, T(T+1)/2 values)", () => {
    const want = new Uint8Array(readFileSync(resolve(FIX, "golden_tri_u8.bin")));
    const g = golden["golden_tri_u8.bin"];
    const got = new Uint8Array(encode(g.shape, g.values, "uint8", true));
    expect(want[7]).toBe(FLAG_LOWER);
    expect(Array.from(got)).toEqual(Array.from(want));
  });

  for (const file of files) {
    it(`decodes ${file}`, () => {
      const bytes = readFileSync(resolve(FIX, file));
      const { shape, data } = decode(bytes);
      const want = golden[file];
      expect(shape).toEqual(want.shape);
      expect(data.length).toBe(want.values.length);
      want.values.forEach((v, i) => {
        expect(Math.abs(data[i] - v)).toBeLessThanOrEqual(want.tolerance + 1e-7);
      });
    });
  }

  it("decodes a fixture held in an unaligned view", () => {
    const bytes = readFileSync(resolve(FIX, "golden_f16.bin"));
    const shifted = new Uint8Array(bytes.length + 1);
    shifted.set(bytes, 1);
    const view = new DataView(shifted.buffer, 1, bytes.length);
    expect(Array.from(decode(view).data)).toEqual(golden["golden_f16.bin"].values);
  });
});

describe("float16", () => {
  it("converts special values", () => {
    expect(halfToFloat(0x3c00)).toBe(1);
    expect(halfToFloat(0xc000)).toBe(-2);
    expect(halfToFloat(0x0001)).toBe(2 ** -24); // smallest subnormal
    expect(halfToFloat(0x03ff)).toBeCloseTo(6.097555e-5, 10); // largest subnormal
    expect(halfToFloat(0x7bff)).toBe(65504);
    expect(halfToFloat(0x7c00)).toBe(Number.POSITIVE_INFINITY);
    expect(halfToFloat(0xfc00)).toBe(Number.NEGATIVE_INFINITY);
    expect(halfToFloat(0x7e00)).toBeNaN();
    expect(Object.is(halfToFloat(0x8000), -0)).toBe(true);
  });

  it("rounds to nearest even and round-trips every finite half", () => {
    expect(floatToHalf(1 + 2 ** -11)).toBe(0x3c00); // tie -> even
    expect(floatToHalf(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(floatToHalf(1e6)).toBe(0x7c00);
    expect(floatToHalf(Number.NaN)).toBe(0x7e00);
    for (let h = 0; h < 0x10000; h += 7) {
      const f = halfToFloat(h);
      if (Number.isFinite(f)) expect(floatToHalf(f)).toBe(h);
    }
  });
});

describe("hand-made buffers", () => {
  it("round-trips float16 attention rows", () => {
    const data = [1, 0, 0, 0.5, 0.5, 0, 0.2, 0.3, 0.5];
    const out = decode(encode([3, 3], data));
    expect(out.shape).toEqual([3, 3]);
    for (const [i, v] of data.entries()) expect(out.data[i]).toBeCloseTo(v, 3);
  });

  it("round-trips uint8 within scale / 2 for 1 to 4 axes", () => {
    const shapes = [[5], [2, 3], [2, 2, 2], [1, 2, 3, 2]];
    for (const shape of shapes) {
      const n = shape.reduce((a, b) => a * b, 1);
      const data = Array.from({ length: n }, (_, i) => Math.sin(i) * 0.5 + 0.5);
      const out = decode(encode(shape, data, "uint8"));
      const scale = (Math.max(...data) - Math.min(...data)) / 255;
      expect(out.shape).toEqual(shape);
      for (const [i, v] of data.entries()) {
        expect(Math.abs(out.data[i] - v)).toBeLessThanOrEqual(scale / 2 + 1e-6);
      }
    }
  });

  it("round-trips lower-triangular slices to [T, T] with zeros above the diagonal", () => {
    for (const T of [1, 2, 5, 17]) {
      const data = new Array(T * T).fill(0);
      for (let q = 0; q < T; q++) for (let k = 0; k <= q; k++) data[q * T + k] = 1 / (q + 1);
      for (const dtype of ["float16", "uint8"] as const) {
        const buf = encode([T, T], data, dtype, true);
        const item = dtype === "uint8" ? 1 : 2;
        const head = buf.byteLength - ((T * (T + 1)) / 2) * item;
        expect(head % 8).toBe(0);
        const out = decode(buf);
        expect(out.shape).toEqual([T, T]);
        for (const [i, v] of data.entries()) {
          if (v === 0) expect(out.data[i]).toBe(0);
          else expect(Math.abs(out.data[i] - v)).toBeLessThanOrEqual(1 / 255 / 2 + 1e-6);
        }
      }
    }
  });

  it("refuses to pack a matrix with weight above the diagonal or a non-square shape", () => {
    expect(() => encode([2, 2], [1, 0.5, 0, 1], "float16", true)).toThrow(/above the diagonal/);
    expect(() => encode([1, 2], [1, 0], "float16", true)).toThrow(/\[T, T\]/);
  });

  it("rejects unknown flags and a packed flag on a non-square shape", () => {
    const b = new Uint8Array(encode([2, 3], [1, 0, 0, 0.5, 0.5, 0]));
    b[7] = 2;
    expect(() => decode(b)).toThrow(/flags/);
    b[7] = FLAG_LOWER;
    expect(() => decode(b)).toThrow(/not a square/);
  });

  it("puts the data at a multiple of 8 bytes", () => {
    const buf = encode([3], [1, 2, 3]); // header 12 bytes -> data at 16
    expect(buf.byteLength).toBe(16 + 6);
    expect(new DataView(buf).getUint16(16, true)).toBe(0x3c00);
  });

  it("rejects bad magic, version, ndim, dtype and truncation", () => {
    const good = new Uint8Array(encode([2, 2], [1, 0, 0.5, 0.5]));
    const patched = (at: number, v: number) => {
      const b = good.slice();
      b[at] = v;
      return () => decode(b);
    };
    expect(patched(0, 0x58)).toThrow(/magic/);
    expect(patched(4, 2)).toThrow(/version/);
    expect(patched(6, 5)).toThrow(/ndim/);
    expect(patched(5, 9)).toThrow(/dtype/);
    expect(() => decode(good.slice(0, good.length - 1))).toThrow(/truncated/);
    expect(() => decode(new Uint8Array(3))).toThrow(/short/);
  });
});
