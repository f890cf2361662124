import { describe, expect, it } from "vitest";
import { aggregate, blockEdges } from "../src/aggregate";

describe("aggregate", () => {
  // 4x4 with one strong cell in each 2x2 block corner
  const A = [1, 0, 0, 0, 0, 0, 0, 0.4, 0, 0.2, 0, 0, 0, 0, 0, 0.8];

  it("keeps the max of each block so single strong cells stay visible", () => {
    expect(Array.from(aggregate(A, 4, 2, "max"))).toEqual([1, 0.4, 0.2, 0.8].map(Math.fround));
  });

  it("can average blocks instead", () => {
    const m = aggregate(A, 4, 2, "mean");
    expect(Array.from(m)).toEqual([0.25, 0.1, 0.05, 0.2].map(Math.fround));
  });

  it("copies when no reduction is needed and covers uneven blocks", () => {
    expect(Array.from(aggregate(A, 4, 8))).toEqual(A.map(Math.fround));
    expect(Array.from(blockEdges(10, 3))).toEqual([0, 3, 7, 10]);
    const ones = new Float32Array(100).fill(1);
    expect(Array.from(aggregate(ones, 10, 3, "mean"))).toEqual(new Array(9).fill(1));
  });
});
