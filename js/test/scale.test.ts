import { describe, expect, it } from "vitest";
import {
  luminance,
  lut,
  lutIndex,
  mix,
  parseColor,
  power,
  rampAt,
  rgbCss,
  sequentialStops,
} from "../src/scale";

describe("colours", () => {
  it("parses the forms a canvas normalises to", () => {
    expect(parseColor("#fff")).toEqual([255, 255, 255]);
    expect(parseColor("#1f6feb")).toEqual([31, 111, 235]);
    expect(parseColor("#1f6feb80")).toEqual([31, 111, 235]);
    expect(parseColor("rgba(10, 20, 30, 0.5)")).toEqual([10, 20, 30]);
    expect(parseColor("rgb(10 20 30)")).toEqual([10, 20, 30]);
    expect(parseColor("bogus")).toBeNull();
  });

  it("mixes and formats", () => {
    expect(mix([0, 0, 0], [200, 100, 50], 0.5)).toEqual([100, 50, 25]);
    expect(rgbCss([1.4, 2.6, 300])).toBe("rgb(1, 3, 255)");
    expect(rgbCss([0, 0, 0], 0.5)).toBe("rgba(0, 0, 0, 0.5)");
  });
});

describe("sequential scale", () => {
  const white: [number, number, number] = [255, 255, 255];
  const black: [number, number, number] = [0, 0, 0];
  const blue: [number, number, number] = [31, 111, 235];

  it("starts at the background and moves monotonically away from it", () => {
    for (const [bg, fg] of [
      [white, [31, 35, 40]],
      [black, [230, 230, 230]],
    ] as const) {
      const stops = sequentialStops([...bg], blue, [...fg]);
      expect(rampAt(stops, 0)).toEqual([...bg]);
      let prev = -1;
      for (let t = 0; t <= 1; t += 0.1) {
        const d = Math.abs(luminance(rampAt(stops, t)) - luminance([...bg]));
        expect(d).toBeGreaterThanOrEqual(prev - 1e-9);
        prev = d;
      }
    }
  });

  it("builds a 256-entry RGBA table with the end stops at its ends", () => {
    const t = lut([white, black]);
    expect(t.length).toBe(1024);
    expect(Array.from(t.slice(0, 4))).toEqual([255, 255, 255, 255]);
    expect(Array.from(t.slice(1020))).toEqual([0, 0, 0, 255]);
  });

  it("maps values through a clamped power scale", () => {
    expect(power(0.25, 0.5)).toBe(0.5);
    expect(power(-1, 0.5)).toBe(0);
    expect(power(4, 0.5)).toBe(1);
    expect(lutIndex(1, 0.5)).toBe(255);
    expect(lutIndex(0.25, 0.5)).toBe(128);
    expect(rampAt([white, black], Number.NaN)).toEqual(white);
  });
});
