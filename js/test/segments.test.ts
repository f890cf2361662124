import { describe, expect, it } from "vitest";
import { pruneMatrix } from "../src/prune";
import {
  restrictToSegment,
  SEGMENTS,
  segmentMass,
  segmentOf,
  segmentOptions,
  segmentRanges,
  segmentText,
  validSplit,
} from "../src/segments";
import type { Entry } from "../src/slices";

// bidirectional 5 x 5, sentence A = positions 0-2 ([CLS] the cat), sentence B = 3-4
const T = 5;
const B_START = 3;
const A = [
  [0.5, 0.1, 0.1, 0.2, 0.1],
  [0.4, 0.2, 0.1, 0.2, 0.1],
  [0.3, 0.3, 0.1, 0.1, 0.2],
  [0.6, 0.0, 0.1, 0.2, 0.1],
  [0.2, 0.2, 0.2, 0.2, 0.2],
].flat();

const rows = (data: ArrayLike<number>) =>
  Array.from({ length: T }, (_, q) => Array.from(data).slice(q * T, (q + 1) * T));

describe("segment ranges", () => {
  it("splits at sentence_b_start: A is [0, b), B is [b, T)", () => {
    expect(segmentRanges("A→A", T, B_START)).toEqual({ q0: 0, q1: 3, k0: 0, k1: 3 });
    expect(segmentRanges("A→B", T, B_START)).toEqual({ q0: 0, q1: 3, k0: 3, k1: 5 });
    expect(segmentRanges("B→A", T, B_START)).toEqual({ q0: 3, q1: 5, k0: 0, k1: 3 });
    expect(segmentRanges("B→B", T, B_START)).toEqual({ q0: 3, q1: 5, k0: 3, k1: 5 });
  });

  it("keeps everything for 'all', unknown values and runs without a real split", () => {
    expect(segmentRanges("all", T, B_START)).toBeNull();
    expect(segmentRanges("A->B", T, B_START)).toBeNull(); // Python normalises the ASCII form
    for (const b of [null, undefined, 0, T, 7, 2.5, -1]) {
      expect(validSplit(b, T)).toBeNull();
      expect(segmentRanges("A→B", T, b)).toBeNull();
      expect(segmentOptions(b, T)).toEqual([]); // the control is hidden
    }
    expect(segmentOptions(B_START, T)).toEqual([...SEGMENTS]);
  });
});

describe("restrictToSegment", () => {
  it("keeps sentence-A queries' weights on sentence-B keys, zeros the rest, no renormalising", () => {
    const r = segmentRanges("A→B", T, B_START);
    if (!r) throw new Error("expected ranges");
    const out = rows(restrictToSegment(A, T, r)).map((row) => row.map((x) => +x.toFixed(6)));
    expect(out).toEqual([
      [0, 0, 0, 0.2, 0.1],
      [0, 0, 0, 0.2, 0.1],
      [0, 0, 0, 0.1, 0.2],
      [0, 0, 0, 0, 0],
      [0, 0, 0, 0, 0],
    ]);
    expect(segmentMass(A, T, r)).toBeCloseTo((0.3 + 0.3 + 0.3) / 3, 6);
  });

  it("the four filters partition the matrix: their sum is the whole slice", () => {
    const sum = new Float32Array(T * T);
    for (const s of SEGMENTS.slice(1)) {
      const r = segmentRanges(s, T, B_START);
      if (!r) throw new Error(s);
      restrictToSegment(A, T, r).forEach((v, i) => {
        sum[i] += v;
      });
    }
    expect(Array.from(sum).map((x) => +x.toFixed(6))).toEqual(A);
  });

  it("arcs drawn after B→A start only at sentence-B queries and end only at sentence-A keys", () => {
    const r = segmentRanges("B→A", T, B_START);
    if (!r) throw new Error("expected ranges");
    const p = pruneMatrix(restrictToSegment(A, T, r), T, 0.9, 16);
    expect(p.q.length).toBeGreaterThan(0);
    for (let i = 0; i < p.q.length; i++) {
      expect(p.q[i]).toBeGreaterThanOrEqual(B_START);
      expect(p.k[i]).toBeLessThan(B_START);
    }
    // query 3 gives key 1 nothing: no arc there; query 4 spreads 0.6 over keys 0-2
    expect(Array.from(p.k.filter((_, i) => p.q[i] === 3)).sort()).toEqual([0, 2]);
    expect(p.kept[4]).toBeCloseTo(0.6, 6);
  });
});

describe("segmentOf and segmentText", () => {
  const entry = (): Entry => ({ key: "0|-1|raw", T, data: Float32Array.from(A), stats: null });

  it("returns the entry itself when nothing is filtered", () => {
    const e = entry();
    expect(segmentOf(e, "all", B_START)).toBe(e);
    expect(segmentOf(e, "A→B", null)).toBe(e);
  });

  it("memoises the filtered entry per filter and says which filter in its key", () => {
    const e = entry();
    const ab = segmentOf(e, "A→B", B_START);
    expect(ab).not.toBe(e);
    expect(ab.key).toBe("0|-1|raw|A→B@3");
    expect(segmentOf(e, "A→B", B_START)).toBe(ab);
    const bb = segmentOf(e, "B→B", B_START);
    expect(bb.key).toBe("0|-1|raw|B→B@3");
    expect(Array.from(bb.data.slice(0, 3 * T)).every((x) => x === 0)).toBe(true);
    expect(Array.from(e.data)).toEqual(Array.from(Float32Array.from(A))); // source untouched
  });

  it("names the filter with its positions for titles", () => {
    expect(segmentText("A→B", T, B_START)).toBe("sentence A (0–2) → sentence B (3–4)");
    expect(segmentText("B→A", T, B_START)).toBe("sentence B (3–4) → sentence A (0–2)");
    expect(segmentText("all", T, B_START)).toBe("");
  });
});
