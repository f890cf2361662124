// Cross-attention (pure): the rules of sinks.ts and prune.ts for a rectangular slice
// [Tq, Tk] (decoder queries x encoder keys; row-major, rows sum to 1). Every decoder query
// sees every encoder key, so the D1 sink score of key k is the mean of column k over all Tq
// queries. Twin of bos_widget.metrics.sink_scores / figure._hide / figure.arcs on [T_q, T]
// arrays; both sides read tests/fixtures/cross.json. Pruning and hiding sinks of [Tq, Tk]
// slices are prune.pruneRows and sinks.hideSinks(data, Tk, mask, Tq).

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
