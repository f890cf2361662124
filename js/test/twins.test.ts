// Twins: TypeScript rules with a Python twin read the same JSON fixtures as
// tests/unit/test_twins.py, so the browser and the kernel's figures agree case by case.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { FLAG_LOWER, VERSION } from "../src/codec";
import { GAMMA } from "../src/draw/matrix";
import { SEGMENTS } from "../src/segments";
import { MIN_SUPPORT } from "../src/sinks";
import { MAX_ARCS_PER_QUERY, TOP_P } from "../src/slices";
import { displayToken } from "../src/tokens";

const fixture = <T>(name: string): T =>
  JSON.parse(readFileSync(resolve(__dirname, "../../tests/fixtures", name), "utf8")) as T;

describe("readable tokens (tests/fixtures/tokens.json)", () => {
  const { cases } = fixture<{ cases: { token: string; label: string }[] }>("tokens.json");
  it.each(cases)("$token", ({ token, label }) => {
    expect(displayToken(token)).toBe(label);
  });
});

/** The string literals of `export type name = "a" | "b"` (or a trait's inline union) in types.ts. */
function union(src: string, pattern: RegExp): string[] {
  const m = pattern.exec(src);
  if (!m) throw new Error(`no ${pattern} in js/src/types.ts`);
  return [...m[1].matchAll(/"([^"]*)"/g)].map((x) => x[1]);
}

describe("shared constants (tests/fixtures/constants.json, Python's values)", () => {
  const c = fixture<Record<string, unknown>>("constants.json");
  const types = readFileSync(resolve(__dirname, "../src/types.ts"), "utf8");
  it("numbers", () => {
    expect({ TOP_P, MAX_ARCS_PER_QUERY, MIN_SUPPORT, GAMMA, VERSION, FLAG_LOWER }).toEqual({
      TOP_P: c.TOP_P,
      MAX_ARCS_PER_QUERY: c.MAX_ARCS_PER_QUERY,
      MIN_SUPPORT: c.MIN_SUPPORT,
      GAMMA: c.GAMMA,
      VERSION: c.CODEC_VERSION,
      FLAG_LOWER: c.FLAG_LOWER,
    });
  });
  it("names", () => {
    expect([...SEGMENTS]).toEqual(c.SEGMENTS);
    expect(union(types, /export type ViewMode = ([^;]*);/)).toEqual(c.VIEWS);
    expect(union(types, /export type Weighting = ([^;]*);/)).toEqual(c.WEIGHTINGS);
    expect(union(types, /\n {2}theme: ([^;]*);/)).toEqual(c.THEMES);
  });
});
