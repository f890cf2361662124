import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { InFlight } from "../src/cache";
import { encode } from "../src/codec";
import {
  alphaOf,
  CACHE_BYTES,
  LOST_KERNEL,
  likelyNext,
  PREFETCH_IDLE_MS,
  parseEncoding,
  prunedOf,
  quantNote,
  roundUp,
  SETTLE_MS,
  SliceClient,
  specFor,
} from "../src/slices";
import type { SliceRequest, WidgetModel } from "../src/types";

function setup(T = 2) {
  const sent: SliceRequest[] = [];
  const model = { send: (m: SliceRequest) => sent.push(m) } as unknown as WidgetModel;
  const arrived: string[] = [];
  const errors: string[] = [];
  const c = new SliceClient(
    model,
    () => T,
    (k) => arrived.push(k),
    (e) => errors.push(e),
  );
  return { c, sent, arrived, errors };
}

const slice = (layer: number, head: number, T = 2) => [
  { kind: "slice", layer, head, weighting: "raw" },
  [new DataView(encode([T, T], T === 2 ? [1, 0, 0.25, 0.75] : new Array(T * T).fill(1 / T)))],
];

describe("SliceClient", () => {
  it("sends one request per key until answered, then serves from the cache", () => {
    const { c, sent, arrived } = setup();
    c.request(3, -1, "raw");
    c.request(3, -1, "raw");
    expect(sent).toEqual([{ kind: "request", layer: 3, head: -1, weighting: "raw" }]);
    const [msg, bufs] = slice(3, -1);
    c.handle(msg, bufs as DataView[]);
    expect(arrived).toEqual(["3|-1|raw"]);
    c.request(3, -1, "raw");
    expect(sent.length).toBe(1);
    const e = c.get(3, -1, "raw");
    expect(e && Array.from(alphaOf(e, true))).toEqual([0.625, 0.75]);
    expect(e && Array.from(prunedOf(e).k)).toEqual([0, 1, 0]);
  });

  it("says the kernel is gone, instead of throwing, when the comm refuses to send", () => {
    const model = {
      send: () => {
        throw new Error("Cannot send"); // what JupyterLab's comm does after a kernel restart
      },
    } as unknown as WidgetModel;
    const errors: string[] = [];
    const c = new SliceClient(
      model,
      () => 2,
      () => {},
      (e) => errors.push(e),
    );
    expect(() => c.request(0, -1, "raw")).not.toThrow();
    expect(errors).toEqual([LOST_KERNEL]);
    expect(c.pending(0, -1, "raw")).toBe(false); // a later view of the same model may retry
  });

  it("stores unsolicited pushes, drops slices of another T, reports errors", () => {
    const { c, arrived, errors } = setup();
    const [m1, b1] = slice(4, 2);
    c.handle(m1, b1 as DataView[]);
    expect(c.get(4, 2, "raw")).toBeDefined();
    const [m2, b2] = slice(5, 2, 3);
    c.handle(m2, b2 as DataView[]);
    expect(c.get(5, 2, "raw")).toBeUndefined();
    c.handle({ kind: "error", message: "No layer 99." }, []);
    c.handle({ kind: "slice", layer: 1, head: 0, weighting: "raw" }, [new Uint8Array(4)]);
    expect(arrived).toEqual(["4|2|raw"]);
    expect(errors[0]).toBe("No layer 99.");
    expect(errors[1]).toMatch(/Could not decode/);
  });

  it("keeps what the reply says about the encoding and its error bound", () => {
    const { c } = setup(3);
    const data = [1, 0, 0, 0.5, 0.5, 0, 0.2, 0.3, 0.5];
    const bytes = encode([3, 3], data, "uint8", true);
    const msg = { kind: "slice", layer: 0, head: 0, weighting: "raw" };
    c.handle({ ...msg, encoding: "uint8", error_bound: 0.00196 }, [new DataView(bytes)]);
    const e = c.get(0, 0, "raw");
    expect(e?.encoding).toBe("uint8");
    expect(e?.errorBound).toBe(0.00196);
    expect(Array.from(e?.data ?? []).map((v) => Math.round(v * 100) / 100)).toEqual(data);
    expect(e && quantNote(e)).toBe("values quantised to 8 bits (error ≤ 0.0020)");
  });

  it("states quantisation only for uint8 and never rounds the bound down", () => {
    expect(quantNote({ encoding: "float16", errorBound: 0.0005 })).toBe("");
    expect(quantNote({ encoding: "uint8", errorBound: null })).toBe("values quantised to 8 bits");
    expect(roundUp(0.001901)).toBe("0.0020");
    expect(roundUp(0.0019)).toBe("0.0019");
    expect(roundUp(0)).toBe("0");
    expect(parseEncoding({ encoding: "int4", error_bound: -1 })).toEqual({
      encoding: null,
      errorBound: null,
    });
  });

  it("predicts the next slice only from one step of one slider, within range", () => {
    expect(likelyNext(null, { layer: 3, head: 0 }, 10, 4)).toBeNull(); // the first view
    expect(likelyNext({ layer: 2, head: 0 }, { layer: 3, head: 0 }, 10, 4)).toEqual([4, 0]);
    expect(likelyNext({ layer: 4, head: 0 }, { layer: 3, head: 0 }, 10, 4)).toEqual([2, 0]);
    expect(likelyNext({ layer: 3, head: 1 }, { layer: 3, head: 0 }, 10, 4)).toEqual([3, -1]);
    expect(likelyNext({ layer: 3, head: 0 }, { layer: 3, head: -1 }, 10, 4)).toBeNull();
    expect(likelyNext({ layer: 8, head: 0 }, { layer: 9, head: 0 }, 10, 4)).toBeNull();
    expect(likelyNext({ layer: 0, head: 0 }, { layer: 7, head: 0 }, 10, 4)).toBeNull(); // a jump
    expect(likelyNext({ layer: 2, head: 0 }, { layer: 3, head: 1 }, 10, 4)).toBeNull();
  });

  describe("prefetch", () => {
    beforeEach(() => vi.useFakeTimers());
    afterEach(() => vi.useRealTimers());
    const layers = (sent: SliceRequest[]) =>
      sent.filter((s) => s.kind === "request").map((s) => [s.layer, s.head]);

    it("sends one slice the way the user stepped, only once the view is still", () => {
      const { c, sent } = setup();
      c.prefetch(4, 0, "raw", 10, 4); // the first view: no direction yet
      vi.advanceTimersByTime(PREFETCH_IDLE_MS);
      expect(layers(sent)).toEqual([]);
      c.prefetch(5, 0, "raw", 10, 4); // one step up
      vi.advanceTimersByTime(PREFETCH_IDLE_MS - 1);
      expect(layers(sent)).toEqual([]);
      c.prefetch(5, 0, "raw", 10, 4); // a redraw of the same view changes nothing planned
      vi.advanceTimersByTime(1);
      expect(layers(sent)).toEqual([[6, 0]]);
      vi.advanceTimersByTime(10 * PREFETCH_IDLE_MS);
      expect(layers(sent)).toEqual([[6, 0]]); // one slice, not every neighbour
    });

    it("never puts a prefetch ahead of the slice the user asks for", () => {
      const { c, sent } = setup();
      c.prefetch(4, 0, "raw", 10, 4);
      c.prefetch(5, 0, "raw", 10, 4); // plans (6, 0)
      vi.advanceTimersByTime(PREFETCH_IDLE_MS / 2);
      c.request(9, 0, "raw"); // the user moved on before the view was still
      vi.advanceTimersByTime(10 * PREFETCH_IDLE_MS);
      expect(layers(sent)).toEqual([[9, 0]]);
      c.prefetch(3, 2, "raw", 10, 4); // a jump: nothing to predict
      vi.advanceTimersByTime(10 * PREFETCH_IDLE_MS);
      expect(layers(sent)).toEqual([[9, 0]]);
    });

    it("waits for the slice in flight before prefetching, and skips cached ones", () => {
      const { c, sent } = setup();
      c.prefetch(0, 0, "raw", 2, 2);
      c.request(0, 1, "raw"); // in flight
      c.prefetch(0, 1, "raw", 2, 2); // planned next: none (head 2 is out of range)
      c.prefetch(1, 1, "raw", 2, 2); // would be (2, 1): out of range too
      c.prefetch(1, 0, "raw", 2, 2); // plans (1, -1)
      vi.advanceTimersByTime(PREFETCH_IDLE_MS);
      expect(layers(sent)).toEqual([[0, 1]]); // (0, 1) has not answered yet
      const [msg, bufs] = slice(0, 1);
      c.handle(msg, bufs as DataView[]);
      expect(layers(sent)).toEqual([
        [0, 1],
        [1, -1],
      ]);
    });

    it("tells the kernel which whole-slice view settled, once", () => {
      const { c, sent } = setup();
      c.prefetch(2, -1, "norm", 4, 2);
      c.prefetch(3, -1, "norm", 4, 2);
      vi.advanceTimersByTime(SETTLE_MS - 1);
      expect(sent.filter((s) => (s.kind as string) === "settled")).toEqual([]);
      vi.advanceTimersByTime(1);
      c.prefetch(3, -1, "norm", 4, 2);
      vi.advanceTimersByTime(2 * SETTLE_MS);
      expect(sent.filter((s) => (s.kind as string) === "settled")).toEqual([
        { kind: "settled", layer: 3, head: -1, weighting: "norm" },
      ]);
    });
  });

  it("bounds its cache in bytes: at T = 1024 it keeps what fits, not 64 slices", () => {
    const T = 1024;
    const { c } = setup(T);
    const n = Math.floor(CACHE_BYTES / (T * T * 4)) + 4;
    const [msg, bufs] = slice(0, -1, T); // one encoding, sent as every layer
    for (let layer = 0; layer < n; layer++) c.handle({ ...msg, layer }, bufs as DataView[]);
    expect(c.get(n - 1, -1, "raw")).toBeDefined();
    expect(c.get(0, -1, "raw")).toBeUndefined();
    let kept = 0;
    for (let layer = 0; layer < n; layer++) kept += c.get(layer, -1, "raw") ? 1 : 0;
    expect(kept * T * T * 4).toBeLessThanOrEqual(CACHE_BYTES);
    expect(kept).toBeGreaterThan(n - 8);
  });

  it("does not let a lost reply block prefetching for good", () => {
    const c = new InFlight(100);
    c.begin("a", 0);
    c.prune(50);
    expect(c.size).toBe(1);
    c.prune(100);
    expect(c.size).toBe(0);
  });
});

describe("SliceClient, pooled runs", () => {
  const T = 12;
  const full = { q0: 0, q1: T, k0: 0, k1: T };
  // a region reply: [n_q, n_k] cells on binEdges, every key's sink score in buffers[1]
  const region = (spec: ReturnType<typeof specFor>, layer = 0, head = 1) => {
    const nq = spec.bins === null ? spec.q1 - spec.q0 : Math.min(spec.bins, spec.q1 - spec.q0);
    const nk = spec.bins === null ? spec.k1 - spec.k0 : Math.min(spec.bins, spec.k1 - spec.k0);
    const cells = Array.from({ length: nq * nk }, (_, i) => (i % 7) / 8);
    const alpha = Array.from({ length: T }, (_, k) => (k === 0 ? 0.75 : 0.01));
    const msg = {
      kind: "slice",
      layer,
      head,
      weighting: "raw",
      queries: [spec.q0, spec.q1],
      keys: [spec.k0, spec.k1],
      bins: spec.bins,
      pool: "max",
    };
    return [msg, [new DataView(encode([nq, nk], cells)), new DataView(encode([T], alpha))]] as [
      Record<string, unknown>,
      DataView[],
    ];
  };

  it("asks for a region pooled to the bins, or exact once it fits them", () => {
    expect(specFor(full, 4)).toEqual({ ...full, bins: 4 });
    expect(specFor({ q0: 2, q1: 6, k0: 0, k1: 3 }, 4).bins).toBeNull();
    const { c, sent } = setup(T);
    c.request(0, 1, "raw", specFor(full, 4));
    c.request(0, 1, "raw", specFor({ q0: 2, q1: 6, k0: 0, k1: 3 }, 4));
    expect(sent).toEqual([
      {
        kind: "request",
        layer: 0,
        head: 1,
        weighting: "raw",
        queries: [0, 12],
        keys: [0, 12],
        bins: 4,
        pool: "max",
      },
      // exact: bins = the longer side, so the kernel keeps every position
      {
        kind: "request",
        layer: 0,
        head: 1,
        weighting: "raw",
        queries: [2, 6],
        keys: [0, 3],
        bins: 4,
        pool: "max",
      },
    ]);
  });

  it("stores a region reply on its bin edges, with the sink scores that came with it", () => {
    const { c, arrived, errors } = setup(T);
    const spec = specFor(full, 5);
    c.request(0, 1, "raw", spec);
    const [msg, bufs] = region(spec);
    c.handle(msg, bufs);
    expect(errors).toEqual([]);
    expect(arrived).toEqual(["0|1|raw|0-12|0-12|5"]);
    expect(c.pending(0, 1, "raw", spec)).toBe(false);
    const e = c.get(0, 1, "raw", spec);
    expect(e?.grid && Array.from(e.grid.rows)).toEqual([0, 2, 4, 7, 9, 12]);
    expect(e?.data.length).toBe(25);
    expect(e && alphaOf(e, true)[0]).toBe(0.75); // not recomputed from pooled cells
    // the coarse region stands in for a zoom inside it until the exact block arrives
    const zoom = { q0: 4, q1: 8, k0: 0, k1: 4 };
    expect(c.best(0, 1, "raw", zoom)?.key).toBe(e?.key);
    expect(c.best(0, 2, "raw", zoom)).toBeUndefined();
    const [m2, b2] = region(specFor(zoom, 5));
    c.handle(m2, b2);
    expect(c.best(0, 1, "raw", zoom)?.key).toBe("0|1|raw|4-8|0-4|exact"); // the finer one
    expect(c.best(0, 1, "raw", full)?.key).toBe(e?.key); // the block does not cover it all
  });

  it("drops regions of another text and says so when the sink scores are missing", () => {
    const { c, arrived, errors } = setup(T);
    const [msg, bufs] = region(specFor(full, 4));
    c.handle({ ...msg, queries: [0, 99] }, bufs); // another (longer) text: stale
    c.handle({ ...msg, bins: 3 }, bufs); // the shape does not match the edges: stale
    c.handle(msg, [bufs[0]]);
    expect(arrived).toEqual([]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/arrived without its bytes/);
  });

  it("prefetches the next slice at the same region and bins", () => {
    vi.useFakeTimers();
    const { c, sent } = setup(T);
    c.prefetch(0, 0, "raw", 3, 3, specFor(full, 4));
    c.prefetch(0, 1, "raw", 3, 3, specFor(full, 4));
    vi.advanceTimersByTime(PREFETCH_IDLE_MS);
    vi.useRealTimers();
    expect(sent[0]).toMatchObject({ layer: 0, head: 2, queries: [0, 12], bins: 4 });
  });
});
