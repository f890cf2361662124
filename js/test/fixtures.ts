// Shared JSON fixtures of tests/fixtures/ (pytest reads the same files), typed for vitest.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";

/** The parsed JSON of tests/fixtures/`name`. */
export function fixture<T>(name: string): T {
  return JSON.parse(readFileSync(resolve(__dirname, "../../tests/fixtures", name), "utf8")) as T;
}

/** One cross-attention case of tests/fixtures/cross.json (tests/unit/test_cross.py reads it). */
export interface CrossCase {
  Tq: number;
  Tk: number;
  data: number[];
  eps: number;
  alpha: number[];
  sinks: boolean[];
  hidden: number[];
  empty_rows: number;
  removed: number;
  share: number;
  arcs: [number, number, number][];
}

/** The cross-attention cases: the rules as pytest checks them too. */
export const crossCases = (): CrossCase[] => fixture<{ cases: CrossCase[] }>("cross.json").cases;
