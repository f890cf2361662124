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

/** One row's top-p pick: kept columns in descending weight order, their weights and mass. */
export interface TopP {
  idx: number[];
  w: number[];
  mass: number;
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
): TopP {
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

/** Collect the top-p picks of `nRows` rows (`pick(row)`) into flat arcs. */
export function pruneEach(nRows: number, pick: (row: number) => TopP): Pruned {
  const q: number[] = [];
  const k: number[] = [];
  const w: number[] = [];
  const kept = new Float32Array(nRows);
  let total = 0;
  for (let row = 0; row < nRows; row++) {
    const r = pick(row);
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
    meanKept: nRows > 0 ? total / nRows : 0,
  };
}

/** Prune every row of a row-major [Tq, Tk] matrix (cross-attention: decoder rows) with {@link topP}. */
export function pruneRows(
  data: ArrayLike<number>,
  Tq: number,
  Tk: number,
  p: number,
  maxK: number,
): Pruned {
  return pruneEach(Tq, (row) => topP(data, row * Tk, Tk, p, maxK));
}

/** Prune every row of a row-major [T, T] matrix with {@link topP}. */
export function pruneMatrix(data: ArrayLike<number>, T: number, p: number, maxK: number): Pruned {
  return pruneRows(data, T, T, p, maxK);
}
