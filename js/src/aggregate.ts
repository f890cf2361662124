// Aggregate: shrink a [T, T] matrix to [n, n] blocks (max or mean per block) when T exceeds
// the pixels available (pure).

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
