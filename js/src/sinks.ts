// Sinks: D1 sink scores of SCIENCE.md for one [T, T] slice, the sink set, the share of
// attention landing on sinks, and the slice with its sinks hidden (pure functions, no DOM).

/**
 * D1 sink score of every key: alpha[k] = mean over q in Q(k) of A[q, k], with
 * Q(k) = {q >= k} for causal models and all q otherwise.
 */
export function sinkScores(data: ArrayLike<number>, T: number, causal: boolean): Float32Array {
  const sums = new Float64Array(T);
  for (let q = 0; q < T; q++) {
    const base = q * T;
    const end = causal ? q + 1 : T;
    for (let k = 0; k < end; k++) sums[k] += data[base + k];
  }
  const alpha = new Float32Array(T);
  for (let k = 0; k < T; k++) alpha[k] = sums[k] / (causal ? T - k : T);
  return alpha;
}

/**
 * Fewest queries a key's score must average over before it can be called a sink. In a causal
 * model the last key's D1 score is one query's attention to itself, which says nothing about
 * sinking; Python's report applies the same rule (bos_widget.metrics.MIN_SUPPORT).
 */
export const MIN_SUPPORT = 4;

/** |Q(k)|: how many queries key k's D1 score averages over (T - k when causal, else T). */
export function querySupport(k: number, T: number, causal: boolean): number {
  return causal ? Math.max(0, T - k) : T;
}

/** Whether key k is seen by enough queries (T - k of them when causal, T otherwise). */
export function supported(k: number, T: number, causal: boolean): boolean {
  return querySupport(k, T, causal) >= Math.min(MIN_SUPPORT, T);
}

/**
 * The one threshold rule of SCIENCE.md D1/D2, as Python's metrics.sink_rate: a score is a
 * sink score when it is strictly above eps (alpha = eps is not a sink).
 */
export function aboveThreshold(alpha: number, eps: number): boolean {
  return alpha > eps;
}

/** Sink mask: true where alpha[k] > eps and enough queries see k. */
export function sinkMask(alpha: ArrayLike<number>, eps: number, causal = false): Uint8Array {
  const T = alpha.length;
  const m = new Uint8Array(T);
  for (let k = 0; k < T; k++)
    m[k] = aboveThreshold(alpha[k], eps) && supported(k, T, causal) ? 1 : 0;
  return m;
}

/** A sink score with the number of queries it averages over: "α = 0.62 over 57 queries". */
export function alphaText(alpha: number, k: number, T: number, causal: boolean): string {
  const n = querySupport(k, T, causal);
  return `α = ${alpha.toFixed(2)} over ${n} ${n === 1 ? "query" : "queries"}`;
}

/** Indices of the sinks (as in sinkMask), strongest first. */
export function sinkList(alpha: ArrayLike<number>, eps: number, causal = false): number[] {
  const mask = sinkMask(alpha, eps, causal);
  const out: number[] = [];
  for (let k = 0; k < alpha.length; k++) if (mask[k]) out.push(k);
  return out.sort((a, b) => alpha[b] - alpha[a]);
}

/** Mean over queries of the row mass that lands on sink keys (0 when T = 0). */
export function shareOnSinks(data: ArrayLike<number>, T: number, mask: ArrayLike<number>): number {
  if (T === 0) return 0;
  const keys: number[] = [];
  for (let k = 0; k < T; k++) if (mask[k]) keys.push(k);
  let total = 0;
  for (let q = 0; q < T; q++) {
    const base = q * T;
    for (const k of keys) total += data[base + k];
  }
  return total / T;
}

/**
 * shareOnSinks from the D1 scores alone (a pooled slice no longer holds every value): a
 * key's column sum is alpha[k] * |Q(k)|, so the mean row mass on sinks is their sum over T.
 */
export function shareFromScores(
  alpha: ArrayLike<number>,
  mask: ArrayLike<number>,
  causal: boolean,
) {
  const T = alpha.length;
  if (T === 0) return 0;
  let total = 0;
  for (let k = 0; k < T; k++) if (mask[k]) total += alpha[k] * querySupport(k, T, causal);
  return total / T;
}

/** A slice with the sink keys' columns removed and each row renormalised. */
export interface Hidden {
  /** [T, T] row-major: rows sum to 1, or are all 0 when all their mass was on sinks. */
  data: Float32Array;
  /** Rows left empty (every bit of their mass was on sink keys). */
  emptyRows: number;
  /** Mean over queries of the row mass removed (equals shareOnSinks). */
  removed: number;
}

/**
 * What a head does apart from sinking: zero the columns of the keys in `mask` and renormalise
 * each row to sum 1. A row whose remaining mass is (numerically) zero becomes all zeros.
 * `data` is [Tq, T] row-major: T keys, and Tq query rows (T by default; cross-attention has
 * its decoder queries).
 */
export function hideSinks(
  data: ArrayLike<number>,
  T: number,
  mask: ArrayLike<number>,
  Tq: number = T,
): Hidden {
  const out = new Float32Array(Tq * T);
  let emptyRows = 0;
  let removed = 0;
  for (let q = 0; q < Tq; q++) {
    const base = q * T;
    let keep = 0;
    let total = 0;
    for (let k = 0; k < T; k++) {
      const v = data[base + k];
      total += v;
      if (!mask[k]) keep += v;
    }
    removed += total - keep;
    if (keep <= 1e-9) {
      emptyRows++;
      continue;
    }
    for (let k = 0; k < T; k++) if (!mask[k]) out[base + k] = data[base + k] / keep;
  }
  return { data: out, emptyRows, removed: Tq > 0 ? removed / Tq : 0 };
}
