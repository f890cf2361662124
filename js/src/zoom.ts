// Zoom: the visible region of the [T, T] matrix (rows = queries, columns = keys) and how drags
// and wheel steps change it. Pure functions; the canvas binding lives in interact.ts.

/** Half-open ranges of the visible queries [q0, q1) and keys [k0, k1). */
export interface Region {
  q0: number;
  q1: number;
  k0: number;
  k1: number;
}

/** Fewest tokens a zoomed axis shows. */
export const MIN_SPAN = 4;

export function fullRegion(T: number): Region {
  return { q0: 0, q1: T, k0: 0, k1: T };
}

export function isFull(r: Region, T: number): boolean {
  return r.q0 <= 0 && r.k0 <= 0 && r.q1 >= T && r.k1 >= T;
}

/** Shift and grow a range [a, b) so it lies inside [0, T) and spans at least min(MIN_SPAN, T). */
function clampRange(a: number, b: number, T: number): [number, number] {
  const want = Math.round(b - a);
  const span = Math.min(T, Math.max(MIN_SPAN, want));
  let lo = Math.round(a - Math.max(0, span - want) / 2);
  lo = Math.max(0, Math.min(T - span, lo));
  return [lo, lo + span];
}

/** The region a drag from cell `a` to cell `b` ([q, k], both inclusive) selects. */
export function regionFromDrag(a: [number, number], b: [number, number], T: number): Region {
  const [q0, q1] = clampRange(Math.min(a[0], b[0]), Math.max(a[0], b[0]) + 1, T);
  const [k0, k1] = clampRange(Math.min(a[1], b[1]), Math.max(a[1], b[1]) + 1, T);
  return { q0, q1, k0, k1 };
}

/**
 * Zoom around cell [q, k] by `factor` (< 1 zooms in, > 1 out), keeping that cell under the
 * pointer; returns the full region once it would cover everything.
 */
export function zoomAt(r: Region, T: number, q: number, k: number, factor: number): Region {
  const axis = (a: number, b: number, at: number): [number, number] => {
    const span = Math.max(MIN_SPAN, Math.round((b - a) * factor));
    if (span >= T) return [0, T];
    const rel = (at + 0.5 - a) / Math.max(1, b - a);
    return clampRange(at + 0.5 - rel * span, at + 0.5 - rel * span + span, T);
  };
  const [q0, q1] = axis(r.q0, r.q1, q);
  const [k0, k1] = axis(r.k0, r.k1, k);
  return { q0, q1, k0, k1 };
}

/** "queries 0–99, keys 0–99 of T = 2048" (inclusive, as people count). */
export function regionText(r: Region, T: number): string {
  return `queries ${r.q0}–${r.q1 - 1}, keys ${r.k0}–${r.k1 - 1} of T = ${T}`;
}
