import { describe, expect, it } from "vitest";
import { captionText, cellText, moveCell, stripText } from "../src/corpus/text";

const meta = {
  model: "SmolLM2",
  n: 120,
  n_layers: 30,
  n_heads: 9,
  T: "64",
  bos_added: false,
  alpha: "α₀ = mean over queries q ≥ 0 of A[q, 0]",
  interval: "95% percentile bootstrap over texts (2000 resamples)",
  can_open: true,
};

describe("corpus overview text", () => {
  it("says mean, interval and n for a cell", () => {
    expect(cellText(3, 2, 0.6234, 0.58, 0.661, 120)).toBe(
      "layer 3, head 2: mean α₀ = 0.62 [0.58, 0.66] over n = 120 texts",
    );
    expect(cellText(0, 0, Number.NaN, 0, 0, 1)).toContain("n/a");
  });
  it("caption names model, n, T, first position, α and the interval", () => {
    const c = captionText(meta);
    for (const part of ["SmolLM2", "n = 120", "T = 64", "no BOS added", "A[q, 0]", "bootstrap"])
      expect(c).toContain(part);
    expect(captionText({ ...meta, bos_added: true })).toContain("BOS/[CLS] token was added");
  });
  it("strip label keeps the text as given", () => {
    expect(stripText(4, 0.5, "<b>x</b>")).toBe("text 4: α₀ = 0.50 — <b>x</b>");
  });
  it("arrow keys move within the grid and stop at its edges", () => {
    expect(moveCell("ArrowRight", 0, 0, 3, 2)).toEqual([1, 0]);
    expect(moveCell("ArrowLeft", 0, 0, 3, 2)).toEqual([0, 0]);
    expect(moveCell("ArrowDown", 2, 1, 3, 2)).toEqual([2, 1]);
    expect(moveCell("ArrowUp", 2, 1, 3, 2)).toEqual([2, 0]);
    expect(moveCell("End", 0, 1, 3, 2)).toEqual([2, 1]);
    expect(moveCell("a", 0, 1, 3, 2)).toBeNull();
  });
});
