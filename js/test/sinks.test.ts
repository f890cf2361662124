import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import {
  aboveThreshold,
  alphaText,
  querySupport,
  shareOnSinks,
  sinkList,
  sinkMask,
  sinkScores,
  supported,
} from "../src/sinks";

// the sink rule as pytest reads it too (tests/unit/test_metrics.py, test_widget.py)
interface SinkFixture {
  mask: { alpha: number[]; eps: number; causal: boolean; sinks: boolean[] }[];
  rate: { alpha0: number[][]; eps: number; rate: number }[];
  support: { T: number; causal: boolean; queries: number[]; supported: boolean[] }[];
  text: { alpha: number; k: number; T: number; causal: boolean; text: string }[];
}
const FIX = JSON.parse(
  readFileSync(resolve(__dirname, "../../tests/fixtures/sinks.json"), "utf8"),
) as SinkFixture;

// causal 4x4, every query puts all its weight on key 0
const allOnFirst = [1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0];
// causal 4x4, every query attends to itself (diagonal head)
const diagonal = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1];

describe("D1 sink scores", () => {
  it("gives alpha[0] = 1 when all weight is on column 0", () => {
    const a = sinkScores(allOnFirst, 4, true);
    expect(Array.from(a)).toEqual([1, 0, 0, 0]);
  });

  it("averages only over q >= k for causal models", () => {
    // key 3 is seen only by query 3, which gives it all its weight -> alpha[3] = 1
    const a = sinkScores(diagonal, 4, true);
    expect(Array.from(a)).toEqual([0.25, 1 / 3, 0.5, 1].map((x) => Math.fround(x)));
  });

  it("averages over all queries for bidirectional models", () => {
    const a = sinkScores(diagonal, 4, false);
    expect(Array.from(a)).toEqual([0.25, 0.25, 0.25, 0.25]);
  });

  it("matches a hand-computed mixed causal matrix", () => {
    const A = [1, 0, 0, 0.6, 0.4, 0, 0.5, 0.2, 0.3];
    const a = sinkScores(A, 3, true);
    expect(a[0]).toBeCloseTo((1 + 0.6 + 0.5) / 3, 6);
    expect(a[1]).toBeCloseTo((0.4 + 0.2) / 2, 6);
    expect(a[2]).toBeCloseTo(0.3, 6);
  });
});

describe("sink set and share", () => {
  it("uses alpha > eps (alpha = eps is no sink) and sorts strongest first", () => {
    expect(Array.from(sinkMask([0.3, 0.29, 0.9], 0.3))).toEqual([0, 0, 1]);
    expect(sinkList([0.35, 0.29, 0.9], 0.3)).toEqual([2, 0]);
  });

  it.each(FIX.mask)("follows the shared fixture: $alpha at eps $eps", (c) => {
    expect(Array.from(sinkMask(c.alpha, c.eps, c.causal), Boolean)).toEqual(c.sinks);
  });

  it.each(FIX.rate)("marks grid cells as Python's sink_rate counts heads (eps $eps)", (c) => {
    const cells = c.alpha0.flat();
    expect(cells.filter((a) => aboveThreshold(a, c.eps)).length / cells.length).toBe(c.rate);
  });

  it("share on sinks is the mean row mass on sink keys", () => {
    expect(shareOnSinks(allOnFirst, 4, [1, 0, 0, 0])).toBe(1);
    expect(shareOnSinks(diagonal, 4, [1, 0, 0, 0])).toBe(0.25);
    const A = [1, 0, 0, 0.6, 0.4, 0, 0.5, 0.2, 0.3];
    expect(shareOnSinks(A, 3, [1, 1, 0])).toBeCloseTo((1 + 1 + 0.7) / 3, 6);
    expect(shareOnSinks([], 0, [])).toBe(0);
  });
});

describe("query support |Q(k)|", () => {
  it.each(FIX.support)("T = $T, causal $causal", (c) => {
    const ks = c.queries.map((_, k) => k);
    expect(ks.map((k) => querySupport(k, c.T, c.causal))).toEqual(c.queries);
    expect(ks.map((k) => supported(k, c.T, c.causal))).toEqual(c.supported);
  });

  it.each(FIX.text)("states a score with its support: $text", (c) => {
    expect(alphaText(c.alpha, c.k, c.T, c.causal)).toBe(c.text);
  });
});

describe("minimum support", () => {
  it("does not call the last keys of a causal head sinks on one query's self-attention", () => {
    // causal 5x5: each query attends to itself only, so alpha[k] = 1/(T-k) * 1 = 1/(5-k)
    const T = 5;
    const data = new Float32Array(T * T);
    for (let q = 0; q < T; q++) data[q * T + q] = 1;
    const alpha = sinkScores(data, T, true);
    expect(alpha[4]).toBeCloseTo(1);
    expect(Array.from(sinkMask(alpha, 0.3, true))).toEqual([0, 0, 0, 0, 0]);
    // the same scores in a bidirectional model are supported by all T queries
    expect(Array.from(sinkMask(alpha, 0.3, false))).toEqual([0, 0, 1, 1, 1]);
    expect(sinkList(alpha, 0.3, true)).toEqual([]);
  });
});
