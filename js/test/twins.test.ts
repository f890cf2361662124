// Twins: TypeScript rules with a Python twin read the same JSON fixtures as
// tests/unit/test_twins.py, so the browser and the kernel's figures agree case by case.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { FLAG_LOWER, VERSION } from "../src/codec";
import { GAMMA } from "../src/draw/matrix";
import { pruneRows } from "../src/prune";
import { restrictToSegment, SEGMENTS, segmentRanges } from "../src/segments";
import { hideSinks, MIN_SUPPORT, sinkScores } from "../src/sinks";
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

type Matrix = number[][];
interface Twins {
  arcs: { matrix: Matrix; arcs: [number, number, number][] }[];
  hide: { matrix: Matrix; sinks: boolean[]; hidden: Matrix }[];
  segments: { matrix: Matrix; cases: { segment: string; b: number | null; kept: Matrix | null }[] };
  scores: { matrix: Matrix; causal: boolean; alpha: number[] }[];
}

const flat = (m: Matrix) => Float32Array.from(m.flat());
const near = (got: ArrayLike<number>, want: number[]) => {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) expect(got[i]).toBeCloseTo(want[i], 6);
};

describe("twins (tests/fixtures/twins.json, shared with tests/unit/test_twins.py)", () => {
  const t = fixture<Twins>("twins.json");
  it.each(t.arcs)("arc pruning keeps the same arcs %#", ({ matrix, arcs }) => {
    const p = pruneRows(flat(matrix), matrix.length, matrix[0].length, TOP_P, MAX_ARCS_PER_QUERY);
    expect([...p.q].map((q, i) => [q, p.k[i]])).toEqual(arcs.map(([q, k]) => [q, k]));
    near(
      p.w,
      arcs.map(([, , w]) => w),
    );
  });
  it.each(t.hide)("hide-sinks renormalises the same way %#", ({ matrix, sinks, hidden }) => {
    const mask = Uint8Array.from(sinks, Number);
    near(hideSinks(flat(matrix), matrix[0].length, mask, matrix.length).data, hidden.flat());
  });
  it.each(t.segments.cases)("segment $segment with b = $b", ({ segment, b, kept }) => {
    const { matrix } = t.segments;
    const T = matrix.length;
    const r = segmentRanges(segment, T, b);
    expect(r === null).toBe(kept === null);
    if (r && kept) near(restrictToSegment(flat(matrix), T, r), kept.flat());
  });
  it.each(t.scores)("sink scores (causal $causal)", ({ matrix, causal, alpha }) => {
    near(sinkScores(flat(matrix), matrix.length, causal), alpha);
  });
});
