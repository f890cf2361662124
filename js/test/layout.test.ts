import { describe, expect, it } from "vitest";
import { arcGeometry, indexAt, labelDrop, niceEvery, stripLayout, truncate } from "../src/layout";

describe("stripLayout", () => {
  it("spaces tokens evenly and keeps wide slots horizontal", () => {
    const s = stripLayout(4, 0, 400, 50, 13);
    expect(Array.from(s.xs)).toEqual([50, 150, 250, 350]);
    expect(s.angle).toBe(0);
    expect(s.every).toBe(1);
  });

  it("tilts then stands labels up and thins them when slots get narrow", () => {
    expect(stripLayout(20, 0, 400, 80, 13).angle).toBeCloseTo(-Math.PI / 4);
    const dense = stripLayout(600, 0, 900, 80, 13);
    expect(dense.angle).toBeCloseTo(-Math.PI / 2);
    expect(dense.every * dense.step).toBeGreaterThanOrEqual(13);
    expect([1, 2, 5, 10, 20]).toContain(dense.every);
  });

  it("rounds thinning to 1-2-5 steps", () => {
    expect([1, 2, 3, 6, 11, 40].map(niceEvery)).toEqual([1, 2, 5, 10, 20, 50]);
  });
});

describe("geometry", () => {
  it("maps x back to the token slot", () => {
    expect(indexAt(149, 0, 100, 4)).toBe(1);
    expect(indexAt(-1, 0, 100, 4)).toBe(-1);
    expect(indexAt(400, 0, 100, 4)).toBe(-1);
  });

  it("arcs rise with distance, are capped and can point down", () => {
    const near = arcGeometry(100, 90, 200, 800, 150, -1);
    const far = arcGeometry(800, 0, 200, 800, 150, -1);
    expect(near.ay).toBeLessThan(200);
    expect(far.ay).toBeCloseTo(50, 6); // full span reaches maxH
    expect(200 - far.ay).toBeGreaterThan(200 - near.ay);
    expect(far.cy).toBeCloseTo(200 - 300, 6);
    expect(arcGeometry(0, 100, 50, 800, 40, 1).ay).toBeGreaterThan(50);
  });

  it("measures rotated labels and truncates by code point", () => {
    expect(labelDrop(100, 13, 0)).toBeCloseTo(13);
    expect(labelDrop(100, 13, -Math.PI / 2)).toBeCloseTo(100);
    expect(truncate("abcdef", 4)).toBe("abc…");
    expect(truncate("😀😀😀", 3)).toBe("😀😀😀");
  });
});

describe("keyboard selection", () => {
  it("moves, clamps, jumps and clears", async () => {
    const { nextSelection } = await import("../src/interact");
    expect(nextSelection("ArrowRight", -1, 5)).toBe(0);
    expect(nextSelection("ArrowRight", 4, 5)).toBe(4);
    expect(nextSelection("ArrowLeft", 2, 5)).toBe(1);
    expect(nextSelection("End", 0, 5)).toBe(4);
    expect(nextSelection("Escape", 3, 5)).toBeNull();
    expect(nextSelection("a", 3, 5)).toBeUndefined();
    expect(nextSelection("ArrowLeft", 3, 0)).toBeUndefined();
  });
});
