// Bins: the blocks a pooled slice covers (twin of bos_widget.metrics.bin_edges, shared fixture
// tests/fixtures/bins.json), how many a side the view asks for, and the words that say how
// big a block is (pure).

/**
 * Edges splitting positions [start, stop) into n = min(bins, stop - start) bins: edge i is
 * start + floor(i * (stop - start) / n), so bins hold floor or ceil of (stop - start) / n.
 */
export function binEdges(start: number, stop: number, bins: number): Int32Array {
  if (!(stop > start) || !(bins >= 1)) {
    throw new Error(`Need a non-empty range and bins >= 1, got [${start}, ${stop}), ${bins}.`);
  }
  const len = stop - start;
  const n = Math.min(Math.floor(bins), len);
  const e = new Int32Array(n + 1);
  for (let i = 0; i <= n; i++) e[i] = start + Math.floor((i * len) / n);
  return e;
}

/** Fewest blocks a side the view asks for, however small the canvas. */
export const MIN_BINS = 64;

/**
 * Blocks a side to ask for when the matrix is `pixels` device pixels wide: the power of two at
 * or above it (so that small resizes reuse cached slices), between MIN_BINS and `maxBins`.
 */
export function poolBins(pixels: number, maxBins: number): number {
  const p = Math.max(MIN_BINS, Math.ceil(pixels));
  return Math.max(1, Math.min(maxBins, 2 ** Math.ceil(Math.log2(p))));
}

/** The index of the bin holding position `i` (edges ascending; clamped to the ends). */
export function binOf(edges: ArrayLike<number>, i: number): number {
  let lo = 0;
  let hi = edges.length - 2;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (edges[mid] <= i) lo = mid;
    else hi = mid - 1;
  }
  return Math.max(0, lo);
}

/** Widths of the bins: "4", or "4–5" when they differ. */
export function widthText(edges: ArrayLike<number>): string {
  let lo = Number.POSITIVE_INFINITY;
  let hi = 0;
  for (let i = 0; i + 1 < edges.length; i++) {
    const w = edges[i + 1] - edges[i];
    lo = Math.min(lo, w);
    hi = Math.max(hi, w);
  }
  return lo === hi ? String(hi) : `${lo}–${hi}`;
}

/** Largest bin width (1 when every position has its own bin). */
export function maxWidth(edges: ArrayLike<number>): number {
  let hi = 1;
  for (let i = 0; i + 1 < edges.length; i++) hi = Math.max(hi, edges[i + 1] - edges[i]);
  return hi;
}

/**
 * What a pooled slice's cells are, for the caption: "max-pooled blocks of 4 × 4 tokens"
 * (queries × keys), or "" when every cell is one token pair.
 */
export function poolText(rows: ArrayLike<number>, cols: ArrayLike<number>, pool: string): string {
  if (maxWidth(rows) === 1 && maxWidth(cols) === 1) return "";
  return `${pool}-pooled blocks of ${widthText(rows)} × ${widthText(cols)} tokens`;
}
