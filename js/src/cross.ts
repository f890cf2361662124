// Cross-attention (pure): the rules of sinks.ts and prune.ts for a rectangular slice
// [Tq, Tk] (decoder queries x encoder keys; row-major, rows sum to 1). Every decoder query
// sees every encoder key, so the D1 sink score of key k is the mean of column k over all Tq
// queries. Twin of bos_widget.metrics.sink_scores / figure._hide / figure.arcs on [T_q, T]
// arrays; both sides read tests/fixtures/cross.json.

import { type Pruned, topP } from "./prune";
import type { Hidden } from "./sinks";

/** D1 of every encoder key: alpha[k] = mean over the Tq decoder queries of A[q, k]. */
export function crossSinkScores(data: ArrayLike<number>, Tq: number, Tk: number): Float32Array {
  const sums = new Float64Array(Tk);
  for (let q = 0; q < Tq; q++) {
    const base = q * Tk;
    for (let k = 0; k < Tk; k++) sums[k] += data[base + k];
  }
  const alpha = new Float32Array(Tk);
  for (let k = 0; k < Tk; k++) alpha[k] = Tq > 0 ? sums[k] / Tq : 0;
  return alpha;
}

/** Top-p arcs of every decoder query (row) of a [Tq, Tk] slice, as pruneMatrix. */
export function pruneRows(
  data: ArrayLike<number>,
  Tq: number,
  Tk: number,
  p: number,
  maxK: number,
): Pruned {
  const q: number[] = [];
  const k: number[] = [];
  const w: number[] = [];
  const kept = new Float32Array(Tq);
  let total = 0;
  for (let row = 0; row < Tq; row++) {
    const r = topP(data, row * Tk, Tk, p, maxK);
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
    meanKept: Tq > 0 ? total / Tq : 0,
  };
}

/**
 * The slice with the sink keys' columns removed and each decoder query's row renormalised
 * over the remaining encoder keys (a row with nothing left becomes all zeros).
 */
export function hideCrossSinks(
  data: ArrayLike<number>,
  Tq: number,
  Tk: number,
  mask: ArrayLike<number>,
): Hidden {
  const out = new Float32Array(Tq * Tk);
  let emptyRows = 0;
  let removed = 0;
  for (let q = 0; q < Tq; q++) {
    const base = q * Tk;
    let keep = 0;
    let total = 0;
    for (let k = 0; k < Tk; k++) {
      const v = data[base + k];
      total += v;
      if (!mask[k]) keep += v;
    }
    removed += total - keep;
    if (keep <= 1e-9) {
      emptyRows++;
      continue;
    }
    for (let k = 0; k < Tk; k++) if (!mask[k]) out[base + k] = data[base + k] / keep;
  }
  return { data: out, emptyRows, removed: Tq > 0 ? removed / Tq : 0 };
}

/** Mean over decoder queries of the row mass on sink keys (0 without queries). */
export function crossShareOnSinks(
  data: ArrayLike<number>,
  Tq: number,
  Tk: number,
  mask: ArrayLike<number>,
): number {
  let total = 0;
  for (let q = 0; q < Tq; q++) {
    for (let k = 0; k < Tk; k++) if (mask[k]) total += data[q * Tk + k];
  }
  return Tq > 0 ? total / Tq : 0;
}

/** The decoder tokens of a cross-attention run's meta, or null for self-attention. */
export function queryTokensOf(meta: { query_tokens?: unknown }): string[] | null {
  const q = meta.query_tokens;
  return Array.isArray(q) && q.every((t) => typeof t === "string") ? (q as string[]) : null;
}
