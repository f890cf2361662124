import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { aggregateGrid, aggregateRegion } from "../src/aggregate";
import { binEdges, binOf, MIN_BINS, maxWidth, poolBins, poolText, widthText } from "../src/bins";
import { sliceKey } from "../src/cache";
import { shareFromScores, shareOnSinks, sinkMask, sinkScores } from "../src/sinks";
import { CAUSAL_5 } from "./matrices";

interface Case {
  start: number;
  stop: number;
  bins: number;
  edges: number[];
}
const FIXTURE = JSON.parse(
  readFileSync(resolve(__dirname, "../../tests/fixtures/bins.json"), "utf8"),
) as { cases: Case[] };

describe("binEdges (twin of metrics.bin_edges)", () => {
  it.each(FIXTURE.cases)("splits [$start, $stop) into $bins bins as Python does", (c) => {
    expect(Array.from(binEdges(c.start, c.stop, c.bins))).toEqual(c.edges);
  });

  it("refuses an empty range or no bins with a sentence", () => {
    expect(() => binEdges(5, 5, 3)).toThrow(/non-empty range/);
    expect(() => binEdges(0, 5, 0)).toThrow(/bins >= 1/);
  });
});

describe("bins the view asks for", () => {
  it("is the power of two at or above the pixels, within [MIN_BINS, max]", () => {
    expect(poolBins(620, 1024)).toBe(1024);
    expect(poolBins(1240, 1024)).toBe(1024); // a 2x screen: capped
    expect(poolBins(500, 1024)).toBe(512);
    expect(poolBins(512, 1024)).toBe(512);
    expect(poolBins(10, 1024)).toBe(MIN_BINS);
    expect(poolBins(620, 256)).toBe(256);
  });

  it("finds the bin of a position and says how wide bins are", () => {
    const e = binEdges(0, 10, 3); // [0, 3, 6, 10]
    expect([0, 2, 3, 5, 6, 9].map((i) => binOf(e, i))).toEqual([0, 0, 1, 1, 2, 2]);
    expect(binOf(e, 42)).toBe(2); // clamped
    expect(widthText(e)).toBe("3–4");
    expect(widthText(binEdges(0, 4096, 1024))).toBe("4");
    expect(maxWidth(binEdges(0, 10, 10))).toBe(1);
    expect(poolText(binEdges(0, 4096, 1024), binEdges(0, 4096, 1024), "max")).toBe(
      "max-pooled blocks of 4 × 4 tokens",
    );
    expect(poolText(binEdges(0, 8, 8), binEdges(0, 8, 8), "max")).toBe(""); // exact
  });
});

describe("aggregateGrid: a pooled slice drawn into pixels", () => {
  const T = 8;
  const full = Float32Array.from({ length: T * T }, (_, i) => ((i * 37) % 11) / 10);
  const region = { q0: 0, q1: T, k0: 0, k1: T };

  it("equals aggregateRegion when every position has its own cell", () => {
    const id = binEdges(0, T, T);
    for (const n of [8, 5, 3, 1]) {
      expect(Array.from(aggregateGrid(full, id, id, region, n, n))).toEqual(
        Array.from(aggregateRegion(full, T, region, n, n)),
      );
    }
  });

  it("repeats a cell over the pixels it spans and keeps the max when pixels are coarser", () => {
    const rows = binEdges(0, T, 2); // [0, 4, 8]
    const cols = binEdges(0, T, 4); // [0, 2, 4, 6, 8]
    const cells = Float32Array.from([0.1, 0.9, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]); // [2, 4]
    const up = aggregateGrid(cells, rows, cols, region, 8, 8);
    expect(up[0]).toBeCloseTo(0.1);
    expect(up[2]).toBeCloseTo(0.9); // keys 2-3 of query 0
    expect(up[7 * 8 + 7]).toBeCloseTo(0.7);
    const down = aggregateGrid(cells, rows, cols, region, 1, 2);
    expect(Array.from(down).map((v) => Math.round(v * 10) / 10)).toEqual([0.9, 0.7]);
    // a zoom inside the grid: keys 2..5 of queries 4..7 are cells (1, 1) and (1, 2)
    const zoom = aggregateGrid(cells, rows, cols, { q0: 4, q1: 8, k0: 2, k1: 6 }, 1, 2);
    expect(Array.from(zoom).map((v) => Math.round(v * 10) / 10)).toEqual([0.5, 0.6]);
  });
});

describe("pooled runs, other helpers", () => {
  it("keys a region and its bins, 'exact' when every position is kept", () => {
    expect(sliceKey(1, -1, "raw", { q0: 0, q1: 4096, k0: 0, k1: 4096, bins: 1024 })).toBe(
      "1|-1|raw|0-4096|0-4096|1024",
    );
    expect(sliceKey(1, 2, "norm", { q0: 5, q1: 9, k0: 0, k1: 3, bins: null })).toBe(
      "1|2|norm|5-9|0-3|exact",
    );
  });

  it("computes the share on sinks from the sink scores alone", () => {
    for (const causal of [true, false]) {
      const alpha = sinkScores(CAUSAL_5, 5, causal);
      const mask = sinkMask(alpha, 0.1, causal);
      expect(shareFromScores(alpha, mask, causal)).toBeCloseTo(shareOnSinks(CAUSAL_5, 5, mask), 6);
    }
  });
});
