// Slices: asks Python for [T, T] attention slices, decodes replies (and unsolicited prefetch
// pushes) into a bounded per-view LRU, de-duplicates requests in flight and prefetches
// neighbours. Derived per-slice data (sink scores, pruned arcs, the slice with sinks hidden)
// is memoised on the entry. Replies may carry per-token stats (norms strip), checked here.

import { InFlight, LRU, sliceKey } from "./cache";
import { decode } from "./codec";
import { type Pruned, pruneMatrix } from "./prune";
import { type Hidden, hideSinks, sinkScores } from "./sinks";
import type { Bytes, Decoded, Encoding, TokenStats, Weighting, WidgetModel } from "./types";

export const TOP_P = 0.9;
export const MAX_ARCS_PER_QUERY = 16;

export interface Entry {
  key: string;
  T: number;
  data: Float32Array;
  /** per-token norms of this (layer, head); null when the run has none */
  stats: TokenStats | null;
  /** how the values travelled, as the reply states it (null or absent when it did not say) */
  encoding?: Encoding | null;
  /** largest absolute error of a value, as the reply states it */
  errorBound?: number | null;
  alpha?: Float32Array;
  pruned?: Pruned;
  /** the slice with sinks hidden, for the mask it was computed with */
  hidden?: { maskKey: string; hidden: Hidden; entry: Entry };
}

/** Sink scores of an entry, computed once. */
export function alphaOf(e: Entry, causal: boolean): Float32Array {
  e.alpha ??= sinkScores(e.data, e.T, causal);
  return e.alpha;
}

/** Top-p pruned arcs of an entry, computed once. */
export function prunedOf(e: Entry): Pruned {
  e.pruned ??= pruneMatrix(e.data, e.T, TOP_P, MAX_ARCS_PER_QUERY);
  return e.pruned;
}

/**
 * The entry to draw when sinks are hidden: the keys in `mask` removed and rows renormalised
 * (computed once per mask). Its `hidden` field says how many rows became empty.
 */
export function hiddenOf(e: Entry, mask: Uint8Array): { hidden: Hidden; entry: Entry } {
  const maskKey = mask.join("");
  if (e.hidden?.maskKey !== maskKey) {
    const hidden = hideSinks(e.data, e.T, mask);
    const entry: Entry = { key: `${e.key}|hidden`, T: e.T, data: hidden.data, stats: e.stats };
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

/** What a view says once its kernel is gone: Jupyter's comm throws on every send then. */
export const LOST_KERNEL =
  "This view has lost its kernel (restarted or shut down); re-run the cell to reconnect.";

export class SliceClient {
  private readonly cache = new LRU<Entry>(64);
  private readonly inflight = new InFlight();
  /** neighbours still to prefetch, nearest first; sent one at a time (see `pump`) */
  private queue: [number, number, Weighting][] = [];

  /**
   * @param expectT returns the current T; slices of another shape (an older text) are dropped.
   * @param onSlice called with the key of every slice stored.
   * @param onError called with a sentence for the error banner.
   */
  constructor(
    private readonly model: WidgetModel,
    private readonly expectT: () => number,
    private readonly onSlice: (key: string) => void,
    private readonly onError: (message: string) => void,
  ) {}

  get(layer: number, head: number, weighting: Weighting): Entry | undefined {
    return this.cache.get(sliceKey(layer, head, weighting));
  }

  pending(layer: number, head: number, weighting: Weighting): boolean {
    return this.inflight.has(sliceKey(layer, head, weighting));
  }

  /** Send a request unless the slice is cached or already asked for. */
  request(layer: number, head: number, weighting: Weighting): void {
    const key = sliceKey(layer, head, weighting);
    if (this.cache.has(key) || !this.inflight.begin(key, Date.now())) return;
    try {
      this.model.send({ kind: "request", layer, head, weighting });
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
  prefetch(layer: number, head: number, weighting: Weighting, nLayers: number, nHeads: number) {
    const around: [number, number][] = [
      [layer + 1, head],
      [layer - 1, head],
      [layer, head + 1],
      [layer, head - 1],
    ];
    this.queue = around
      .filter(([l, h]) => l >= 0 && l < nLayers && h >= -1 && h < nHeads)
      .map(([l, h]) => [l, h, weighting]);
    this.pump();
  }

  /** Send the next queued prefetch when nothing is in flight (stale requests aside). */
  private pump(): void {
    this.inflight.prune(Date.now());
    while (this.inflight.size === 0 && this.queue.length > 0) {
      const [l, h, w] = this.queue.shift() as [number, number, Weighting];
      this.request(l, h, w); // no-op when cached: then the loop tries the next one
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
    if (dec.shape.length !== 2 || dec.shape[0] !== T || dec.shape[1] !== T) return; // stale text
    const stats = parseStats(msg.stats, T);
    this.cache.set(key, { key, T, data: dec.data, stats, ...parseEncoding(msg) });
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
