import { describe, expect, it } from "vitest";
import { pruneMatrix, topP } from "../src/prune";

describe("topP", () => {
  it("keeps the largest weights until the mass reaches p", () => {
    const r = topP([0.05, 0.6, 0.1, 0.25], 0, 4, 0.8, 16);
    expect(r.idx).toEqual([1, 3]);
    expect(r.w).toEqual([0.6, 0.25]);
    expect(r.mass).toBeCloseTo(0.85, 10);
  });

  it("respects the offset, maxK and skips zeros", () => {
    const row = [9, 9, 0.4, 0.3, 0.2, 0.1, 0];
    const r = topP(row, 2, 5, 0.99, 2);
    expect(r.idx).toEqual([0, 1]);
    expect(r.mass).toBeCloseTo(0.7, 10);
    expect(topP([0, 0, 0], 0, 3, 0.9, 4).idx).toEqual([]);
  });
});

describe("pruneMatrix", () => {
  it("returns flat arcs and the kept mass per query", () => {
    // causal 3x3
    const A = [1, 0, 0, 0.7, 0.3, 0, 0.5, 0.3, 0.2];
    const p = pruneMatrix(A, 3, 0.75, 16);
    expect(Array.from(p.q)).toEqual([0, 1, 1, 2, 2]);
    expect(Array.from(p.k)).toEqual([0, 0, 1, 0, 1]);
    expect(p.kept[2]).toBeCloseTo(0.8, 6);
    expect(p.meanKept).toBeCloseTo((1 + 1 + 0.8) / 3, 6);
  });

  it("stays bounded at T = 1024 with uniform rows", () => {
    const T = 1024;
    const A = new Float32Array(T * T).fill(1 / T);
    const p = pruneMatrix(A, T, 0.9, 16);
    expect(p.q.length).toBe(T * 16);
    expect(p.meanKept).toBeCloseTo(16 / T, 4);
  });
});
