// Prune: per query row keep the largest weights until a top-p mass is reached (pure).
// Bounds the number of arcs drawn so the arc view stays fast and readable at large T.

/** Arcs kept for a whole [T, T] matrix, flat arrays of equal length. */
export interface Pruned {
  q: Int32Array;
  k: Int32Array;
  w: Float32Array;
  /** Per query: the attention mass the kept arcs carry. */
  kept: Float32Array;
  /** Mean of `kept` over queries. */
  meanKept: number;
}

/**
 * Top-p selection on one row `data[off .. off+len)`.
 * Returns the column indices (relative to `off`) in descending weight order and the mass kept.
 * Keeps at most `maxK` entries; stops as soon as the cumulative weight reaches `p`.
 * Zero weights are never kept.
 */
export function topP(
  data: ArrayLike<number>,
  off: number,
  len: number,
  p: number,
  maxK: number,
): { idx: number[]; w: number[]; mass: number } {
  // one pass with a small sorted buffer (descending) of the best maxK entries
  const bi: number[] = [];
  const bw: number[] = [];
  for (let j = 0; j < len; j++) {
    const v = data[off + j];
    if (!(v > 0)) continue;
    if (bw.length === maxK && v <= bw[maxK - 1]) continue;
    let pos = bw.length;
    while (pos > 0 && bw[pos - 1] < v) pos--;
    bw.splice(pos, 0, v);
    bi.splice(pos, 0, j);
    if (bw.length > maxK) {
      bw.pop();
      bi.pop();
    }
  }
  let mass = 0;
  let n = 0;
  while (n < bw.length && mass < p) {
    mass += bw[n];
    n++;
  }
  return { idx: bi.slice(0, n), w: bw.slice(0, n), mass };
}

/** Prune every row of a row-major [T, T] matrix with {@link topP}. */
export function pruneMatrix(data: ArrayLike<number>, T: number, p: number, maxK: number): Pruned {
  const q: number[] = [];
  const k: number[] = [];
  const w: number[] = [];
  const kept = new Float32Array(T);
  let total = 0;
  for (let row = 0; row < T; row++) {
    const r = topP(data, row * T, T, p, maxK);
    for (let i = 0; i < r.idx.length; i++) {
      q.push(row);
      k.push(r.idx[i]);
      w.push(r.w[i]);
    }
    kept[row] = r.mass;
    total += r.mass;
  }
  return {
    q: Int32Array.from(q),
    k: Int32Array.from(k),
    w: Float32Array.from(w),
    kept,
    meanKept: T > 0 ? total / T : 0,
  };
}
