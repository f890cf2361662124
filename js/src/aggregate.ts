// Aggregate: shrink a [T, T] matrix to [n, n] blocks (max or mean per block) when T exceeds
// the pixels available (pure).

import { binOf } from "./bins";

/** Block edges: block b covers source indices [edges[b], edges[b+1]). */
export function blockEdges(T: number, n: number): Int32Array {
  const e = new Int32Array(n + 1);
  for (let b = 0; b <= n; b++) e[b] = Math.round((b * T) / n);
  return e;
}

/**
 * Reduce a row-major [T, T] matrix to [n, n] with n <= T. Each output cell is the max (default)
 * or mean of its source block, so a single strong cell stays visible under "max".
 */
export function aggregate(
  data: ArrayLike<number>,
  T: number,
  n: number,
  mode: "max" | "mean" = "max",
): Float32Array {
  if (n >= T) return Float32Array.from({ length: T * T }, (_, i) => data[i]);
  const e = blockEdges(T, n);
  const out = new Float32Array(n * n);
  const colBlock = new Int32Array(T);
  for (let b = 0; b < n; b++) for (let j = e[b]; j < e[b + 1]; j++) colBlock[j] = b;
  for (let rb = 0; rb < n; rb++) {
    const o = rb * n;
    for (let r = e[rb]; r < e[rb + 1]; r++) {
      const base = r * T;
      if (mode === "max") {
        for (let j = 0; j < T; j++) {
          const v = data[base + j];
          if (v > out[o + colBlock[j]]) out[o + colBlock[j]] = v;
        }
      } else {
        for (let j = 0; j < T; j++) out[o + colBlock[j]] += data[base + j];
      }
    }
    if (mode === "mean") {
      const rows = e[rb + 1] - e[rb];
      for (let cb = 0; cb < n; cb++) out[o + cb] /= rows * (e[cb + 1] - e[cb]);
    }
  }
  return out;
}

/**
 * Reduce the block rows [q0, q1) x columns [k0, k1) of a row-major [T, T] matrix to
 * [nr, nc] (nr <= q1 - q0, nc <= k1 - k0) by the max of each block; a copy when no
 * reduction is needed.
 */
export function aggregateRegion(
  data: ArrayLike<number>,
  T: number,
  region: { q0: number; q1: number; k0: number; k1: number },
  nr: number,
  nc: number,
): Float32Array {
  const { q0, k0 } = region;
  const re = blockEdges(region.q1 - q0, nr);
  const ce = blockEdges(region.k1 - k0, nc);
  const colBlock = new Int32Array(region.k1 - k0);
  for (let b = 0; b < nc; b++) for (let j = ce[b]; j < ce[b + 1]; j++) colBlock[j] = b;
  const out = new Float32Array(nr * nc);
  for (let rb = 0; rb < nr; rb++) {
    const o = rb * nc;
    for (let r = re[rb]; r < re[rb + 1]; r++) {
      const base = (q0 + r) * T + k0;
      for (let j = 0; j < colBlock.length; j++) {
        const v = data[base + j];
        if (v > out[o + colBlock[j]]) out[o + colBlock[j]] = v;
      }
    }
  }
  return out;
}

/**
 * Draw a pooled slice into [nr, nc] pixels: `data` is [rows.length - 1, cols.length - 1],
 * cell (i, j) covering queries [rows[i], rows[i+1]) and keys [cols[j], cols[j+1]) (absolute
 * positions). Pixel block (r, c) of the visible region covers the positions of
 * blockEdges(region span, n) and gets the max of every cell it overlaps, so a pixel smaller
 * than a cell repeats that cell and a sink column stays visible when pixels are coarser.
 */
export function aggregateGrid(
  data: ArrayLike<number>,
  rows: ArrayLike<number>,
  cols: ArrayLike<number>,
  region: { q0: number; q1: number; k0: number; k1: number },
  nr: number,
  nc: number,
): Float32Array {
  // cells each pixel overlaps: [first, last] of the cells holding its first and last position
  const spans = (edges: ArrayLike<number>, start: number, len: number, n: number) => {
    const pe = blockEdges(len, n);
    const out = new Int32Array(2 * n);
    for (let p = 0; p < n; p++) {
      out[2 * p] = binOf(edges, start + pe[p]);
      out[2 * p + 1] = binOf(edges, start + Math.max(pe[p], pe[p + 1] - 1));
    }
    return out;
  };
  const nCols = cols.length - 1;
  const rs = spans(rows, region.q0, region.q1 - region.q0, nr);
  const cs = spans(cols, region.k0, region.k1 - region.k0, nc);
  const out = new Float32Array(nr * nc);
  for (let r = 0; r < nr; r++) {
    for (let c = 0; c < nc; c++) {
      let v = 0;
      for (let i = rs[2 * r]; i <= rs[2 * r + 1]; i++) {
        const base = i * nCols;
        for (let j = cs[2 * c]; j <= cs[2 * c + 1]; j++) if (data[base + j] > v) v = data[base + j];
      }
      out[r * nc + c] = v;
    }
  }
  return out;
}
