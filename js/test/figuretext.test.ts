import { describe, expect, it } from "vitest";
import { sinkShare, whatText } from "../src/figuretext";

const base = {
  layer: 3,
  head: -1,
  weighting: "raw",
  hidden: false,
  slotRun: false,
  segment: "",
  withSlot: false,
};

describe("whatText", () => {
  it("names the layer, head and weighting", () => {
    expect(whatText(base)).toBe("layer 3, mean of heads, raw");
    expect(whatText({ ...base, head: 2, weighting: "norm" })).toBe(
      "layer 3, head 2, norm-weighted",
    );
  });
  it("says when sinks (and the slot) are hidden, the segment and the slot", () => {
    expect(whatText({ ...base, hidden: true })).toBe(
      "layer 3, mean of heads, raw, sinks hidden, rows renormalised",
    );
    expect(whatText({ ...base, hidden: true, slotRun: true })).toContain("sinks and sink slot");
    expect(whatText({ ...base, segment: "A→B", withSlot: true })).toBe(
      "layer 3, mean of heads, raw, only A→B, with sink slot",
    );
  });
});

describe("sinkShare", () => {
  // 2 queries x 3 keys, key 0 a sink: rows [1, 0, 0] and [0.5, 0.25, 0.25]
  const data = new Float32Array([1, 0, 0, 0.5, 0.25, 0.25]);
  const mask = new Uint8Array([1, 0, 0]);
  const common = { data, T: 3, alpha: [0.75, 0.125, 0.125], mask, causal: false, eps: 0.3 };
  it("averages the sink columns over rows, for cross-attention too", () => {
    const cross = sinkShare({ ...common, pooled: false, Tq: 2, slot: null });
    expect(cross).toBeCloseTo(0.75, 6);
  });
  it("adds the slot's score when the slot is a sink, and only then", () => {
    const slot = { values: new Float32Array([0.4, 0.4]), alpha: 0.4 };
    const without = sinkShare({ ...common, pooled: false, Tq: 2, slot: null });
    expect(sinkShare({ ...common, pooled: false, Tq: 2, slot })).toBeCloseTo(without + 0.4, 6);
    expect(sinkShare({ ...common, pooled: false, Tq: 2, slot, eps: 0.5 })).toBeCloseTo(without, 6);
  });
});
