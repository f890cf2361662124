// Segments (pure): the sentence A / sentence B filter of a sentence-pair run. Sentence A is
// positions [0, b) and sentence B is [b, T), where b = meta.segment_b_start (bertviz's
// sentence_b_start). A filter such as "A→B" keeps the attention of sentence-A queries to
// sentence-B keys and zeros every other cell; rows are not renormalised, so the weights drawn
// are the ones the model gave. Twin of the `segment` trait validated in bos_widget/views/widget.py.

import type { Entry } from "./slices";

/** Filter values: "all", or query segment → key segment. */
export const SEGMENTS = ["all", "A→A", "A→B", "B→A", "B→B"] as const;
export type Segment = (typeof SEGMENTS)[number];

/** Half-open ranges of the queries [q0, q1) and keys [k0, k1) a filter keeps. */
export interface SegmentRanges {
  q0: number;
  q1: number;
  k0: number;
  k1: number;
}

/** The split position if it really splits T tokens in two (0 < b < T), else null. */
export function validSplit(bStart: number | null | undefined, T: number): number | null {
  return typeof bStart === "number" && Number.isInteger(bStart) && bStart > 0 && bStart < T
    ? bStart
    : null;
}

/** The filters to offer: none without a valid split (the control is then hidden). */
export function segmentOptions(bStart: number | null | undefined, T: number): Segment[] {
  return validSplit(bStart, T) === null ? [] : [...SEGMENTS];
}

/** The ranges a filter keeps, or null when it keeps everything ("all", unknown, no split). */
export function segmentRanges(
  segment: string | null | undefined,
  T: number,
  bStart: number | null | undefined,
): SegmentRanges | null {
  const b = validSplit(bStart, T);
  if (b === null || !segment || segment === "all") return null;
  const m = /^([AB])→([AB])$/.exec(segment);
  if (!m) return null;
  const span = (s: string): [number, number] => (s === "A" ? [0, b] : [b, T]);
  const [q0, q1] = span(m[1]);
  const [k0, k1] = span(m[2]);
  return { q0, q1, k0, k1 };
}

/** A row-major [T, T] matrix with every cell outside the ranges set to 0 (a new array). */
export function restrictToSegment(
  data: ArrayLike<number>,
  T: number,
  r: SegmentRanges,
): Float32Array {
  const out = new Float32Array(T * T);
  for (let q = r.q0; q < r.q1; q++) {
    for (let k = r.k0; k < r.k1; k++) out[q * T + k] = data[q * T + k];
  }
  return out;
}

/** Attention mass of the kept cells, averaged over the kept queries (0 when none). */
export function segmentMass(data: ArrayLike<number>, T: number, r: SegmentRanges): number {
  let total = 0;
  for (let q = r.q0; q < r.q1; q++) {
    for (let k = r.k0; k < r.k1; k++) total += data[q * T + k];
  }
  return r.q1 > r.q0 ? total / (r.q1 - r.q0) : 0;
}

/** Words for titles: "sentence A (0–4) → sentence B (5–9)"; "" when nothing is filtered. */
export function segmentText(
  segment: string | null | undefined,
  T: number,
  bStart: number | null | undefined,
): string {
  const r = segmentRanges(segment, T, bStart);
  if (!r) return "";
  const name = (lo: number) => (lo === 0 ? "A" : "B");
  return `sentence ${name(r.q0)} (${r.q0}–${r.q1 - 1}) → sentence ${name(r.k0)} (${r.k0}–${r.k1 - 1})`;
}

const derived = new WeakMap<Entry, { key: string; entry: Entry }>();

/**
 * The entry to draw under a filter: `e` itself when nothing is filtered, else a copy with the
 * cells outside the segments zeroed, memoised per source entry and filter (so its pruned arcs
 * are computed once).
 */
export function segmentOf(
  e: Entry,
  segment: string | null | undefined,
  bStart: number | null | undefined,
): Entry {
  const r = segmentRanges(segment, e.T, bStart);
  if (!r) return e;
  const key = `${e.key}|${segment}@${bStart}`;
  const hit = derived.get(e);
  if (hit?.key === key) return hit.entry;
  const entry: Entry = { key, T: e.T, data: restrictToSegment(e.data, e.T, r), stats: e.stats };
  derived.set(e, { key, entry });
  return entry;
}
