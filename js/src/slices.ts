// Slices: asks Python for [T, T] attention slices (pooled runs: regions pooled to the view's
// pixels), decodes the replies into a per-view LRU bounded in entries and bytes, and
// de-duplicates requests in flight. Python sends slices only when asked: the view's own
// requests, and one prefetch of the slice the user is likely to move to next, sent once the view
// has been still for PREFETCH_IDLE_MS so that it never queues ahead of a slice the user asked
// for. After SETTLE_MS still, the kernel is told which view settled (it keeps that slice as the
// saved-state snapshot). Derived per-slice data (sink scores, pruned arcs, the slice with sinks
// hidden) is memoised on the entry. Replies may carry per-token stats (norms strip), checked
// here.

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
/** Decoded slices kept per view: at most this many... */
export const CACHE_ENTRIES = 64;
/** ...and at most this many bytes of decoded values (12 slices at T = 2048, 48 at 1024). */
export const CACHE_BYTES = 192 * 2 ** 20;
/** Stillness (ms) after a view is drawn before the slice the user is likely to want next is
 * prefetched: switching faster than this never leaves a prefetch ahead of a request. */
export const PREFETCH_IDLE_MS = 250;
/** Stillness (ms) after which the kernel is told the view settled (its snapshot follows). */
export const SETTLE_MS = 1500;

/** Bytes an entry holds in the browser when it is cached (values, sink scores, slot). */
export function entryBytes(e: Entry): number {
  return e.data.byteLength + (e.alpha?.byteLength ?? 0) + (e.slot?.values.byteLength ?? 0);
}

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

/** The view a prefetch is planned around. */
interface Shown {
  layer: number;
  head: number;
  weighting: Weighting;
  spec: Spec | null;
  key: string;
}

/**
 * The slice the user is likely to move to from `now`, having come from `before`: one more
 * step the same way when the last move was one step of the layer or the head slider (arrow
 * keys), else none (a jump says nothing about the next one).
 */
export function likelyNext(
  before: Pick<Shown, "layer" | "head"> | null,
  now: Pick<Shown, "layer" | "head">,
  nLayers: number,
  nHeads: number,
): [number, number] | null {
  if (!before) return null;
  const dl = now.layer - before.layer;
  const dh = now.head - before.head;
  if (Math.abs(dl) + Math.abs(dh) !== 1) return null;
  const [l, h] = [now.layer + dl, now.head + dh];
  return l >= 0 && l < nLayers && h >= -1 && h < nHeads ? [l, h] : null;
}

export class SliceClient {
  private readonly cache = new LRU<Entry>(CACHE_ENTRIES, CACHE_BYTES, entryBytes);
  private readonly inflight = new InFlight();
  /** the prefetch planned for when the view is still; sent when nothing is in flight */
  private queue: [number, number, Weighting, Spec | null][] = [];
  private shown: Shown | null = null;
  private idle: ReturnType<typeof setTimeout> | undefined;
  private settle: ReturnType<typeof setTimeout> | undefined;

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

  /**
   * Ask for the slice the view shows, unless it is cached or already asked for. The user has
   * moved: a prefetch planned for the old view is dropped.
   */
  request(layer: number, head: number, weighting: Weighting, spec?: Spec | null): void {
    this.stopTimers();
    this.queue = [];
    this.send(layer, head, weighting, spec);
  }

  private send(layer: number, head: number, weighting: Weighting, spec?: Spec | null): void {
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
   * The view now shows (layer, head): plan for the user's next move. Once the view has been
   * still for PREFETCH_IDLE_MS, the slice one more step the way the user last moved is
   * prefetched (`likelyNext`; one slice, only when nothing is in flight); after SETTLE_MS
   * still, a whole-slice view tells the kernel it settled. A redraw of the same view (a
   * threshold, a reply) changes nothing planned.
   */
  prefetch(
    layer: number,
    head: number,
    weighting: Weighting,
    nLayers: number,
    nHeads: number,
    spec: Spec | null = null,
  ) {
    const key = sliceKey(layer, head, weighting, spec);
    if (this.shown?.key === key) return;
    const before = this.shown?.weighting === weighting ? this.shown : null;
    this.shown = { layer, head, weighting, spec, key };
    const next = likelyNext(before, this.shown, nLayers, nHeads);
    this.stopTimers();
    this.queue = [];
    if (next) {
      this.idle = setTimeout(() => {
        this.queue = [[next[0], next[1], weighting, spec]];
        this.pump();
      }, PREFETCH_IDLE_MS);
    }
    if (!spec) {
      this.settle = setTimeout(() => {
        try {
          this.model.send({ kind: "settled", layer, head, weighting });
        } catch {
          // the comm is gone: the next request says so
        }
      }, SETTLE_MS);
    }
  }

  private stopTimers(): void {
    clearTimeout(this.idle);
    clearTimeout(this.settle);
  }

  /** Send the queued prefetch when nothing is in flight (stale requests aside). */
  private pump(): void {
    this.inflight.prune(Date.now());
    while (this.inflight.size === 0 && this.queue.length > 0) {
      const [l, h, w, spec] = this.queue.shift() as [number, number, Weighting, Spec | null];
      this.send(l, h, w, spec); // no-op when cached: then the loop tries the next one
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

  /** Forget everything (new tokens or meta, or the view closes). */
  reset(): void {
    this.cache.clear();
    this.inflight.clear();
    this.queue = [];
    this.shown = null;
    this.stopTimers();
  }
}
