import { describe, expect, it } from "vitest";
import { aggregate, aggregateRegion } from "../src/aggregate";
import { cellAt, cellNear, type MatrixHit } from "../src/draw/matrix";
import { fullRegion, isFull, MIN_SPAN, regionFromDrag, regionText, zoomAt } from "../src/zoom";

describe("zoom regions", () => {
  it("turns a drag between two cells into half-open ranges, either direction", () => {
    expect(regionFromDrag([10, 20], [30, 5], 100)).toEqual({ q0: 10, q1: 31, k0: 5, k1: 21 });
    expect(regionFromDrag([30, 5], [10, 20], 100)).toEqual({ q0: 10, q1: 31, k0: 5, k1: 21 });
  });

  it("widens a tiny drag to MIN_SPAN tokens and keeps it inside the matrix", () => {
    const r = regionFromDrag([99, 0], [99, 0], 100);
    expect(r.q1 - r.q0).toBe(MIN_SPAN);
    expect(r.k1 - r.k0).toBe(MIN_SPAN);
    expect(r.q1).toBe(100);
    expect(r.k0).toBe(0);
    expect(regionFromDrag([0, 0], [1, 1], 3)).toEqual(fullRegion(3));
  });

  it("zooms in around the cell under the pointer and back out to the full matrix", () => {
    const T = 1000;
    const inn = zoomAt(fullRegion(T), T, 500, 250, 0.5);
    expect(inn.q1 - inn.q0).toBe(500);
    expect(inn.k1 - inn.k0).toBe(500);
    // the cell keeps its relative place: 500 was in the middle, 250 a quarter in
    expect(inn.q0).toBe(250);
    expect(inn.k0).toBe(125);
    expect(isFull(inn, T)).toBe(false);
    const out = zoomAt(inn, T, 500, 250, 2.5);
    expect(out).toEqual(fullRegion(T));
    expect(isFull(out, T)).toBe(true);
  });

  it("never zooms below MIN_SPAN or outside [0, T)", () => {
    let r = fullRegion(50);
    for (let i = 0; i < 40; i++) r = zoomAt(r, 50, 49, 0, 0.5);
    expect(r.q1 - r.q0).toBe(MIN_SPAN);
    expect(r.q1).toBe(50);
    expect(r.k0).toBe(0);
    expect(r.k1 - r.k0).toBe(MIN_SPAN);
  });

  it("says the visible range inclusively", () => {
    expect(regionText({ q0: 0, q1: 100, k0: 5, k1: 10 }, 2048)).toBe(
      "queries 0–99, keys 5–9 of T = 2048",
    );
  });
});

describe("aggregateRegion", () => {
  const T = 4;
  const A = Array.from({ length: 16 }, (_, i) => i / 16);

  it("equals aggregate for the whole matrix", () => {
    expect(Array.from(aggregateRegion(A, T, fullRegion(T), 2, 2))).toEqual(
      Array.from(aggregate(A, T, 2, "max")),
    );
  });

  it("copies a sub-block when it fits and takes block maxima when it does not", () => {
    const r = { q0: 1, q1: 3, k0: 2, k1: 4 };
    expect(Array.from(aggregateRegion(A, T, r, 2, 2))).toEqual(
      [6, 7, 10, 11].map((v) => Math.fround(v / 16)),
    );
    expect(Array.from(aggregateRegion(A, T, { q0: 1, q1: 4, k0: 0, k1: 4 }, 1, 2))).toEqual(
      [13, 15].map((v) => Math.fround(v / 16)),
    );
  });
});

describe("cellAt with a zoomed region", () => {
  const hit: MatrixHit = {
    x0: 10,
    y0: 20,
    size: 100,
    T: 50,
    region: { q0: 10, q1: 20, k0: 30, k1: 40 },
    n: 10,
  };

  it("maps pixels to the region's cells", () => {
    expect(cellAt(hit, 10, 20)).toEqual([10, 30]);
    expect(cellAt(hit, 109, 119)).toEqual([19, 39]);
    expect(cellAt(hit, 55, 25)).toEqual([10, 34]);
    expect(cellAt(hit, 9, 25)).toBeNull();
    expect(cellAt(hit, 111, 25)).toBeNull();
  });

  it("clamps points outside to the nearest cell for drags", () => {
    expect(cellNear(hit, -50, 500)).toEqual([19, 30]);
  });
});
