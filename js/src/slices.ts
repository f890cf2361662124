// Slices: asks Python for [T, T] attention slices (pooled runs: regions pooled to the view's
// pixels), decodes replies (and unsolicited prefetch pushes) into a bounded per-view LRU,
// de-duplicates requests in flight and prefetches neighbours. Derived per-slice data (sink
// scores, pruned arcs, the slice with sinks hidden) is memoised on the entry. Replies may carry
// per-token stats (norms strip), checked here.

import { binEdges } from "./bins";
import { InFlight, LRU, type Spec, sliceKey } from "./cache";
import { decode } from "./codec";
import { crossSinkScores } from "./cross";
import { type Pruned, pruneMatrix, pruneRows } from "./prune";
import { type Hidden, hideSinks, sinkScores } from "./sinks";
import { parseSlot, pruneWithSlot, type Slot } from "./slot";
import type { Bytes, Decoded, Encoding, Pool, TokenStats, Weighting, WidgetModel } from "./types";
import type { Region } from "./zoom";

/** A region of a pooled run: its spec, the bin edges (absolute positions) and the pooling. */
export interface Grid extends Spec {
  rows: Int32Array;
  cols: Int32Array;
  pool: Pool;
}

export const TOP_P = 0.9;
export const MAX_ARCS_PER_QUERY = 16;

export interface Entry {
  key: string;
  /** keys (columns); also the queries, except for cross-attention (`Tq`) */
  T: number;
  /** cross-attention only: decoder queries (rows); `data` is then [Tq, T] */
  Tq?: number;
  /** [T, T] row-major; with `grid`, [rows.length - 1, cols.length - 1] cells of the region */
  data: Float32Array;
  /** set for a region of a pooled run (its D1 scores `alpha` came with it) */
  grid?: Grid;
  /** per-token norms of this (layer, head); null when the run has none */
  stats: TokenStats | null;
  /** how the values travelled, as the reply states it (null or absent when it did not say) */
  encoding?: Encoding | null;
  /** largest absolute error of a value, as the reply states it */
  errorBound?: number | null;
  alpha?: Float32Array;
  /** learned sink logits: p_sink per row and the slot's score (slot.ts); null when not sent */
  slot?: Slot | null;
  pruned?: Pruned;
  /** the slice with sinks hidden, for the mask it was computed with */
  hidden?: { maskKey: string; hidden: Hidden; entry: Entry };
}

/** Sink scores of an entry, computed once. */
export function alphaOf(e: Entry, causal: boolean): Float32Array {
  e.alpha ??=
    e.Tq === undefined ? sinkScores(e.data, e.T, causal) : crossSinkScores(e.data, e.Tq, e.T);
  return e.alpha;
}

/** Top-p pruned arcs of an entry, computed once (with a sink slot: key T is the slot). */
export function prunedOf(e: Entry): Pruned {
  e.pruned ??=
    e.Tq !== undefined
      ? pruneRows(e.data, e.Tq, e.T, TOP_P, MAX_ARCS_PER_QUERY)
      : e.slot
        ? pruneWithSlot(e.data, e.T, e.slot.values, TOP_P, MAX_ARCS_PER_QUERY)
        : pruneMatrix(e.data, e.T, TOP_P, MAX_ARCS_PER_QUERY);
  return e.pruned;
}

/**
 * The entry to draw when sinks are hidden: the keys in `mask` removed and rows renormalised
 * (computed once per mask). Its `hidden` field says how many rows became empty.
 */
export function hiddenOf(e: Entry, mask: Uint8Array): { hidden: Hidden; entry: Entry } {
  const maskKey = mask.join("");
  if (e.hidden?.maskKey !== maskKey) {
    const { T, Tq } = e;
    const hidden = hideSinks(e.data, T, mask, Tq ?? T);
    const entry: Entry = { key: `${e.key}|hidden`, T, Tq, data: hidden.data, stats: e.stats };
    e.hidden = { maskKey, hidden, entry };
  }
  return e.hidden;
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null;
}

const numbers = (x: unknown, T: number): x is number[] =>
  Array.isArray(x) && x.length === T && x.every((v) => typeof v === "number");

/** The stats of a reply if they are well-formed for T tokens, else null. */
export function parseStats(x: unknown, T: number): TokenStats | null {
  if (!isRecord(x) || !numbers(x.hidden_norm, T)) return null;
  const value = numbers(x.value_norm, T) ? x.value_norm : null;
  const massive = Array.isArray(x.massive)
    ? x.massive.filter((i): i is number => Number.isInteger(i) && i >= 0 && i < T)
    : [];
  return { hidden_norm: x.hidden_norm, value_norm: value, massive };
}

/** What a reply says about its bytes: encoding and error bound, null where missing or odd. */
export function parseEncoding(msg: Record<string, unknown>): {
  encoding: Encoding | null;
  errorBound: number | null;
} {
  const enc = msg.encoding === "float16" || msg.encoding === "uint8" ? msg.encoding : null;
  const b = msg.error_bound;
  const errorBound = typeof b === "number" && Number.isFinite(b) && b >= 0 ? b : null;
  return { encoding: enc, errorBound };
}

/** A bound rounded up to two significant digits, so the text never understates it. */
export function roundUp(b: number): string {
  if (!(b > 0)) return "0";
  const step = 10 ** (Math.floor(Math.log10(b)) - 1);
  return (Math.ceil(b / step - 1e-9) * step).toPrecision(2);
}

/** The note for figures drawn from quantised values ("" for float16). */
export function quantNote(e: Pick<Entry, "encoding" | "errorBound">): string {
  if (e.encoding !== "uint8") return "";
  const b = e.errorBound;
  const bound = typeof b === "number" ? ` (error ≤ ${roundUp(b)})` : "";
  return `values quantised to 8 bits${bound}`;
}

/**
 * The spec to ask for: `region` pooled into at most `bins` blocks a side, bins null when the
 * region is no longer than bins on either axis (every position; the kernel's rule too).
 */
export function specFor(region: Region, bins: number): Spec {
  const span = Math.max(region.q1 - region.q0, region.k1 - region.k0);
  const { q0, q1, k0, k1 } = region;
  return { q0, q1, k0, k1, bins: bins >= span ? null : bins };
}

/** Whether a spec's region holds every position of `r`. */
export const covers = (g: Spec, r: Region) =>
  g.q0 <= r.q0 && g.q1 >= r.q1 && g.k0 <= r.k0 && g.k1 >= r.k1;

/** Positions per cell of a grid entry along its coarser axis. */
export function coarseness(g: Grid): number {
  const w = (e: Int32Array) => (e[e.length - 1] - e[0]) / Math.max(1, e.length - 1);
  return Math.max(w(g.rows), w(g.cols));
}

const pairOf = (x: unknown, T: number): [number, number] | null =>
  Array.isArray(x) &&
  x.length === 2 &&
  Number.isInteger(x[0]) &&
  Number.isInteger(x[1]) &&
  0 <= x[0] &&
  x[0] < x[1] &&
  x[1] <= T
    ? [x[0], x[1]]
    : null;

/** What a view says once its kernel is gone: Jupyter's comm throws on every send then. */
export const LOST_KERNEL =
  "This view has lost its kernel (restarted or shut down); re-run the cell to reconnect.";

export class SliceClient {
  private readonly cache = new LRU<Entry>(64);
  private readonly inflight = new InFlight();
  /** neighbours still to prefetch, nearest first; sent one at a time (see `pump`) */
  private queue: [number, number, Weighting, Spec | null][] = [];

  /**
   * @param expectT returns the current T; slices of another shape (an older text) are dropped.
   * @param onSlice called with the key of every slice stored.
   * @param onError called with a sentence for the error banner.
   * @param expectTq cross-attention: returns the number of decoder queries (rows), else null.
   */
  constructor(
    private readonly model: WidgetModel,
    private readonly expectT: () => number,
    private readonly onSlice: (key: string) => void,
    private readonly onError: (message: string) => void,
    private readonly expectTq: () => number | null = () => null,
  ) {}

  get(layer: number, head: number, weighting: Weighting, spec?: Spec | null): Entry | undefined {
    return this.cache.get(sliceKey(layer, head, weighting, spec));
  }

  pending(layer: number, head: number, weighting: Weighting, spec?: Spec | null): boolean {
    return this.inflight.has(sliceKey(layer, head, weighting, spec));
  }

  /**
   * The finest cached region of (layer, head, weighting) that covers `region` (drawn while
   * the wanted one is in flight), or undefined.
   */
  best(layer: number, head: number, weighting: Weighting, region: Region): Entry | undefined {
    const prefix = `${sliceKey(layer, head, weighting)}|`;
    let found: Entry | undefined;
    for (const e of this.cache.values()) {
      if (!e.grid || !e.key.startsWith(prefix) || !covers(e.grid, region)) continue;
      if (!found?.grid || coarseness(e.grid) < coarseness(found.grid)) found = e;
    }
    return found;
  }

  /** Send a request unless the slice is cached or already asked for. */
  request(layer: number, head: number, weighting: Weighting, spec?: Spec | null): void {
    const key = sliceKey(layer, head, weighting, spec);
    if (this.cache.has(key) || !this.inflight.begin(key, Date.now())) return;
    try {
      if (!spec) this.model.send({ kind: "request", layer, head, weighting });
      else {
        const { q0, q1, k0, k1 } = spec;
        // bins at least the span asks for every position (the kernel's default is pooled)
        const bins = spec.bins ?? Math.max(q1 - q0, k1 - k0);
        const region = {
          queries: [q0, q1] as [number, number],
          keys: [k0, k1] as [number, number],
        };
        this.model.send({ kind: "request", layer, head, weighting, ...region, bins, pool: "max" });
      }
    } catch {
      this.inflight.end(key); // the comm is gone (kernel restarted or shut down)
      this.onError(LOST_KERNEL);
    }
  }

  /**
   * Prefetch layer +-1 and head +-1 around (layer, head). The kernel answers messages in
   * order, so prefetches go one at a time and only while no other request is waiting: a
   * slice the user asks for next queues behind at most one prefetch. A new call replaces the
   * neighbours still queued from an earlier view.
   */
  prefetch(
    layer: number,
    head: number,
    weighting: Weighting,
    nLayers: number,
    nHeads: number,
    spec: Spec | null = null,
  ) {
    const around: [number, number][] = [
      [layer + 1, head],
      [layer - 1, head],
      [layer, head + 1],
      [layer, head - 1],
    ];
    this.queue = around
      .filter(([l, h]) => l >= 0 && l < nLayers && h >= -1 && h < nHeads)
      .map(([l, h]) => [l, h, weighting, spec]);
    this.pump();
  }

  /** Send the next queued prefetch when nothing is in flight (stale requests aside). */
  private pump(): void {
    this.inflight.prune(Date.now());
    while (this.inflight.size === 0 && this.queue.length > 0) {
      const [l, h, w, spec] = this.queue.shift() as [number, number, Weighting, Spec | null];
      this.request(l, h, w, spec); // no-op when cached: then the loop tries the next one
    }
  }

  /** Handle one custom message from Python. */
  handle(msg: unknown, buffers: Bytes[] | undefined): void {
    if (!isRecord(msg)) return;
    if (msg.kind === "error") {
      this.inflight.clear();
      this.onError(String(msg.message ?? "The kernel could not send an attention slice."));
      return;
    }
    if (msg.kind !== "slice") return;
    if (msg.queries !== undefined) {
      this.handleRegion(msg, buffers);
      return;
    }
    const key = sliceKey(Number(msg.layer), Number(msg.head), String(msg.weighting));
    this.inflight.end(key);
    const buf = buffers?.[0];
    if (!buf) {
      this.onError(`Slice ${key} arrived without its bytes; re-run the cell to reconnect.`);
      return;
    }
    let dec: Decoded;
    try {
      dec = decode(buf);
    } catch (e) {
      this.onError(`Could not decode slice ${key}: ${(e as Error).message}`);
      return;
    }
    const T = this.expectT();
    const Tq = this.expectTq() ?? undefined; // cross-attention: [Tq, T]
    if (dec.shape.length !== 2 || dec.shape[0] !== (Tq ?? T) || dec.shape[1] !== T) return; // stale
    const stats = parseStats(msg.stats, T);
    const slot = parseSlot(msg, buffers, T);
    this.cache.set(key, { key, T, Tq, data: dec.data, stats, slot, ...parseEncoding(msg) });
    this.onSlice(key);
    this.pump();
  }

  /** A region reply of a pooled run: [n_q, n_k] cells on bin edges, sink scores in buffers[1]. */
  private handleRegion(msg: Record<string, unknown>, buffers: Bytes[] | undefined): void {
    const T = this.expectT();
    const q = pairOf(msg.queries, this.expectTq() ?? T);
    const k = pairOf(msg.keys, T);
    const bins = msg.bins === null ? null : Number(msg.bins);
    if (!q || !k || (bins !== null && !(Number.isInteger(bins) && bins >= 1))) return; // stale
    const spec: Spec = { q0: q[0], q1: q[1], k0: k[0], k1: k[1], bins };
    const key = sliceKey(Number(msg.layer), Number(msg.head), String(msg.weighting), spec);
    this.inflight.end(key);
    if (!buffers?.[0] || !buffers[1]) {
      this.onError(`Slice ${key} arrived without its bytes; re-run the cell to reconnect.`);
      return;
    }
    let dec: Decoded;
    let alpha: Decoded;
    try {
      dec = decode(buffers[0]);
      alpha = decode(buffers[1]);
    } catch (e) {
      this.onError(`Could not decode slice ${key}: ${(e as Error).message}`);
      return;
    }
    const rows = binEdges(spec.q0, spec.q1, bins ?? spec.q1 - spec.q0);
    const cols = binEdges(spec.k0, spec.k1, bins ?? spec.k1 - spec.k0);
    const [nr, nc] = [rows.length - 1, cols.length - 1];
    if (dec.shape.length !== 2 || dec.shape[0] !== nr || dec.shape[1] !== nc) return; // stale
    if (alpha.shape.length !== 1 || alpha.shape[0] !== T) return;
    const pool: Pool = msg.pool === "mean" ? "mean" : "max";
    const grid: Grid = { ...spec, rows, cols, pool };
    const stats = parseStats(msg.stats, T);
    const slot = parseSlot(msg, buffers, nr);
    const entry = { key, T, data: dec.data, stats, grid, alpha: alpha.data, slot };
    this.cache.set(key, { ...entry, ...parseEncoding(msg) });
    this.onSlice(key);
    this.pump();
  }

  /** Forget everything (new tokens or meta). */
  reset(): void {
    this.cache.clear();
    this.inflight.clear();
    this.queue = [];
  }
}
