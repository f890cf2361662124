import { describe, expect, it } from "vitest";
import { columnsOf, moved, NO_POINTER, type SceneInput, sceneOf } from "../src/scene";
import { shareOnSinks, sinkScores } from "../src/sinks";
import type { Entry } from "../src/slices";
import type { Meta, Traits } from "../src/types";
import { EMPTY_META, type ViewState, viewState } from "../src/viewstate";
import { crossCases } from "./fixtures";
import { CAUSAL_5 } from "./matrices";

// the cross-attention case pytest reads too (tests/unit/test_cross.py)
const CROSS = crossCases()[0];

const TOKENS = ["<s>", " a", " b", "\n", "d"]; // as the kernel sends them (decoded text)

/** The view state of a 5-token causal run, as viewState reads it from these traits. */
function state(traits: Partial<Traits> = {}, meta: Partial<Meta> = {}): ViewState {
  const all: Partial<Traits> = {
    tokens: TOKENS,
    meta: { ...EMPTY_META, model: "m", n_layers: 4, n_heads: 2, T: 5, ...meta },
    layer: 2,
    head: 1,
    view: "arcs",
    ...traits,
  };
  return viewState(<K extends keyof Traits>(k: K) => all[k] as Traits[K]);
}

const entry = (over: Partial<Entry> = {}): Entry => ({
  key: "2|1|raw",
  T: 5,
  data: Float32Array.from(CAUSAL_5),
  stats: null,
  ...over,
});

function scene(s: ViewState, e: Entry = entry(), over: Partial<SceneInput> = {}) {
  const zoom = { q0: 0, q1: e.T, k0: 0, k1: e.T };
  return sceneOf({ ...NO_POINTER, state: s, entry: e, zoom, band: null, ...over });
}

const close = (got: ArrayLike<number>, want: ArrayLike<number>) => {
  expect(got.length).toBe(want.length);
  Array.from(want).forEach((v, i) => {
    expect(got[i]).toBeCloseTo(v, 6);
  });
};

describe("viewState fills in what the traits leave out", () => {
  it("defaults: raw, ε 0.3, no selection, every segment, automatic theme", () => {
    const s = viewState(
      <K extends keyof Traits>(k: K) =>
        (k === "tokens" ? ["a", "b"] : k === "layer" || k === "head" ? 0 : undefined) as Traits[K],
    );
    expect(s.meta).toEqual(EMPTY_META);
    expect(s.T).toBe(2); // meta.T of 0: the tokens say how many
    expect(s.queries).toBeNull();
    expect([s.weighting, s.threshold, s.selected, s.segment, s.theme]).toEqual([
      "raw",
      0.3,
      -1,
      "all",
      "auto",
    ]);
    expect([s.hideSinks, s.pooled, s.label]).toEqual([false, false, ""]);
  });

  it("cross-attention: the decoder's tokens are the queries", () => {
    const s = state({}, { query_tokens: ["x", "y", "z"] });
    expect(s.queries).toEqual(["x", "y", "z"]);
  });
});

describe("a causal slice drawn as arcs", () => {
  const s = state({ selected: 3 });
  const sc = scene(s);

  it("marks the sink keys (α > ε) and says what it draws", () => {
    expect(Array.from(sc.figure.sinks)).toEqual([1, 0, 0, 0, 0]);
    expect(sc.figure.what).toBe("layer 2, head 1, raw");
    expect(sc.aria).toBe("Attention arcs, layer 2, head 1, raw");
    expect(sc.painted).toBe("2|1|raw:arcs");
    expect(sc.figure.zoomed).toBe("");
    expect(sc.caption).toEqual({ matrix: false, T: 5, quant: "", pooled: "" });
  });

  it("prunes arcs, selects the query in the strip and labels tokens readably", () => {
    expect(sc.figure.pruned?.kept.length).toBe(5);
    expect(sc.figure.focus).toBe(3);
    expect(sc.strip.selected).toBe(3);
    expect(sc.figure.labels).toEqual(["<s>", "␣a", "␣b", "↵", "d"]);
    expect(sc.figure.queryLabels).toBeNull();
    expect(sc.figure.generated).toBe(0);
  });

  it("feeds the readout the slice's scores and share on sinks", () => {
    const alpha = sinkScores(CAUSAL_5, 5, true);
    close(sc.readout.alpha, alpha);
    expect(sc.readout.alpha[0]).toBeCloseTo(0.76, 6);
    expect(sc.readout.share).toBeCloseTo(shareOnSinks(CAUSAL_5, 5, [1, 0, 0, 0, 0]), 6);
    expect(sc.readout.hidden).toBeNull();
    expect(sc.readout.slot).toBeNull();
    expect(sc.norms).toMatchObject({ layer: 2, head: 1, nLayers: 4, nHeads: 2, lastHidden: "" });
    expect(sc.grid).toEqual({ eps: 0.3, layer: 2, head: 1 });
  });

  it("a hovered token is the focus over the selection", () => {
    expect(scene(s, entry(), { hover: 1 }).figure.focus).toBe(1);
  });

  it("names the slice it draws, not the one asked for (a stand-in while one is in flight)", () => {
    const other = scene(state({ layer: 3, head: -1, weighting: "norm" }));
    expect(other.figure.what).toBe("layer 2, head 1, raw");
    expect(other.norms).toMatchObject({ layer: 2, head: 1 });
  });

  it("reuses the display strings of the last paint when the count matches", () => {
    const labels = ["0", "1", "2", "3", "4"];
    expect(scene(s, entry(), { labels }).figure.labels).toBe(labels);
    expect(scene(s, entry(), { labels: ["0"] }).figure.labels).toEqual(sc.figure.labels);
  });
});

describe("the matrix view", () => {
  it("needs no arcs until a query is in focus", () => {
    expect(scene(state({ view: "matrix" })).figure.pruned).toBeNull();
    expect(scene(state({ view: "matrix", selected: 2 })).figure.pruned).not.toBeNull();
  });

  it("says where it is zoomed, in the title, the aria label and the caption", () => {
    const zoom = { q0: 1, q1: 4, k0: 0, k1: 3 };
    const sc = scene(state({ view: "matrix" }), entry(), { zoom });
    expect(sc.figure.region).toEqual(zoom);
    expect(sc.figure.zoomed).toBe(" · zoom: queries 1–3, keys 0–2 of T = 5");
    expect(sc.aria).toBe(
      "Attention matrix, layer 2, head 1, raw · zoom: queries 1–3, keys 0–2 of T = 5",
    );
    expect(sc.caption.matrix).toBe(true);
    expect(sc.painted).toBe("2|1|raw:matrix");
  });

  it("quantised values carry their note", () => {
    const sc = scene(state({ view: "matrix" }), entry({ encoding: "uint8", errorBound: 0.002 }));
    expect(sc.caption.quant).toBe("values quantised to 8 bits (error ≤ 0.0020)");
  });
});

describe("hiding sinks", () => {
  const sc = scene(state({ hide_sinks: true }));

  it("draws the slice without the sink column, rows renormalised", () => {
    close(sc.figure.data, [
      ...[0, 0, 0, 0, 0],
      ...[0, 1, 0, 0, 0],
      ...[0, 0.25, 0.75, 0, 0],
      ...[0, 0, 0.5, 0.5, 0],
      ...[0, 0.5, 0, 0, 0.5],
    ]);
    expect(sc.readout.hidden?.emptyRows).toBe(1); // query 0 saw only the sink
    expect(sc.readout.hidden?.removed).toBeCloseTo(0.76, 6);
  });

  it("says so, while the sink scores stay those of the slice", () => {
    expect(sc.figure.what).toBe("layer 2, head 1, raw, sinks hidden, rows renormalised");
    expect(sc.painted).toBe("2|1|raw:arcs:hidden");
    expect(Array.from(sc.figure.sinks)).toEqual([1, 0, 0, 0, 0]);
    expect(sc.readout.alpha[0]).toBeCloseTo(0.76, 6);
  });
});

describe("a sentence pair's segment filter", () => {
  const bidi = { causal: false, segment_b_start: 2 };

  it("keeps sentence A's queries to sentence B's keys", () => {
    const uniform = entry({ data: new Float32Array(25).fill(0.2) });
    const sc = scene(state({ segment: "A→B" }, bidi), uniform);
    expect(sc.figure.what).toBe("layer 2, head 1, raw, only sentence A (0–1) → sentence B (2–4)");
    expect(sc.painted).toBe("2|1|raw:arcs:A→B");
    const kept = Array.from(sc.figure.data, (v, i) => (v !== 0 ? i : -1)).filter((i) => i >= 0);
    expect(kept).toEqual([2, 3, 4, 7, 8, 9]); // rows 0-1, keys 2-4
    expect(sc.readout.data).toBe(sc.figure.data);
  });

  it("without a valid split it filters nothing", () => {
    const e = entry();
    const sc = scene(state({ segment: "A→B" }), e);
    expect(sc.painted).toBe("2|1|raw:arcs");
    expect(sc.figure.data).toBe(e.data);
  });
});

describe("a cross-attention slice (tests/fixtures/cross.json)", () => {
  const c = CROSS;
  const keys = ["k0", "k1", "k2", "k3", "k4"];
  const e = (): Entry => ({
    key: "0|-1|raw",
    T: c.Tk,
    Tq: c.Tq,
    data: Float32Array.from(c.data),
    stats: null,
  });
  const s = (traits: Partial<Traits> = {}) =>
    state(
      { tokens: keys, layer: 0, head: -1, selected: 1, ...traits },
      { causal: false, T: c.Tk, query_tokens: [" x", "y", "z"] },
    );

  it("scores each encoder key over the decoder queries and shares as pytest does", () => {
    const sc = scene(s(), e());
    close(sc.readout.alpha, c.alpha);
    expect(Array.from(sc.figure.sinks, Boolean)).toEqual(c.sinks);
    expect(sc.readout.share).toBeCloseTo(c.share, 6);
    const p = sc.figure.pruned;
    const arcs = Array.from(p?.q ?? [], (q, i) => [q, p?.k[i], p?.w[i]]);
    expect(arcs.map((a) => a.slice(0, 2))).toEqual(c.arcs.map((a) => a.slice(0, 2)));
  });

  it("draws the whole [Tq, T] slice, never zoomed, with no query picked in the strip", () => {
    const sc = scene(s({ view: "matrix" }), e(), { zoom: { q0: 1, q1: 2, k0: 1, k1: 3 } });
    expect(sc.figure.region).toEqual({ q0: 0, q1: c.Tq, k0: 0, k1: c.Tk });
    expect(sc.figure.zoomed).toBe("");
    expect(sc.caption.matrix).toBe(false);
    expect(sc.strip.selected).toBe(-1);
    expect(sc.figure.queryLabels).toEqual(["␣x", "y", "z"]);
    expect(sc.readout.queryTokens).toEqual([" x", "y", "z"]);
  });

  it("hides sinks as pytest does", () => {
    const sc = scene(s({ hide_sinks: true }), e());
    close(sc.figure.data, c.hidden);
    expect(sc.readout.hidden?.emptyRows).toBe(c.empty_rows);
    expect(sc.readout.hidden?.removed).toBeCloseTo(c.removed, 6);
  });
});

describe("a pooled region", () => {
  // 2 x 2 blocks of a T = 4 slice: rows and keys [0, 2) and [2, 4), max-pooled
  const grid = {
    ...{ q0: 0, q1: 4, k0: 0, k1: 4, bins: 2 },
    ...{ rows: Int32Array.from([0, 2, 4]), cols: Int32Array.from([0, 2, 4]) },
    pool: "max" as const,
  };
  const e = entry({
    key: "2|1|raw|0-4x0-4@2max",
    T: 4,
    data: Float32Array.from([0.9, 0, 0.8, 0.2]),
    grid,
    alpha: Float32Array.from([0.8, 0.1, 0.05, 0.05]),
  });
  const sc = scene(
    state(
      { view: "arcs", hide_sinks: true, segment: "A→B" },
      { T: 4, segment_b_start: 2, pooled: true },
    ),
    e,
  );

  it("is drawn as a matrix from its own scores, never as arcs, hidden sinks or segments", () => {
    expect(sc.figure.view).toBe("matrix");
    expect(sc.figure.pruned).toBeNull();
    expect(sc.figure.data).toBe(e.data);
    expect(sc.readout.hidden).toBeNull();
    expect(sc.painted).toBe("2|1|raw|0-4x0-4@2max:matrix");
    expect(Array.from(sc.figure.sinks)).toEqual([1, 0, 0, 0]);
  });

  it("says how it was pooled", () => {
    expect(sc.figure.pooledText).toBe(sc.caption.pooled);
    expect(sc.caption.pooled).toContain("max-pooled");
  });
});

describe("learned sink logits (the sink slot, key T)", () => {
  const slot = { values: Float32Array.from([0.5, 0.4, 0.3, 0.2, 0.1]), alpha: 0.3 + 1e-3 };

  it("draws the slot's column, a sink above ε, with the hovered row", () => {
    const sc = scene(state({ view: "matrix" }, { sink_slot: true }), entry({ slot }), {
      hoverCell: [2, 5],
    });
    expect(sc.figure.slot).toMatchObject({ sink: true, hover: 2, alpha: slot.alpha, rows: null });
    expect(sc.figure.what).toBe("layer 2, head 1, raw, with sink slot");
    expect(sc.readout.slot).toEqual({ slot, weighting: "raw" });
  });

  it("hiding sinks removes the slot too, and counts its mass as removed", () => {
    const sc = scene(state({ hide_sinks: true }, { sink_slot: true }), entry({ slot }));
    expect(sc.figure.slot).toBeNull();
    expect(sc.figure.what).toBe(
      "layer 2, head 1, raw, sinks and sink slot hidden, rows renormalised",
    );
    expect(sc.readout.hidden?.removed).toBeCloseTo(0.76 + slot.alpha, 6);
  });
});

describe("a generated run marks its prompt boundary", () => {
  it("at the first generated position, when there is one", () => {
    expect(scene(state({}, { prompt_len: 3 })).figure.generated).toBe(3);
    expect(scene(state({}, { prompt_len: 5 })).figure.generated).toBe(0);
    expect(scene(state({}, { prompt_len: null })).figure.generated).toBe(0);
  });
});

describe("pointer and columns", () => {
  it("moved: a new token or a new cell", () => {
    const p = { ...NO_POINTER, hover: 2, hoverCell: [1, 1] as [number, number] };
    expect(moved(p, 2, [1, 1])).toBe(false);
    expect(moved(p, 2, [1, 2])).toBe(true);
    expect(moved(p, 3, [1, 1])).toBe(true);
    expect(moved(NO_POINTER, -1, null)).toBe(false);
  });

  it("columnsOf: the arcs' token columns, or the matrix's key columns of the region", () => {
    const arcs = { left: 10, step: 20, T: 5 };
    expect(columnsOf({ arcs, matrix: null }, { q0: 0, q1: 5, k0: 0, k1: 5 })).toEqual({
      left: 10,
      step: 20,
    });
    const matrix = {
      x0: 100,
      y0: 0,
      size: 200,
      T: 10,
      region: { q0: 0, q1: 10, k0: 2, k1: 6 },
      n: 200,
    };
    expect(columnsOf({ arcs: null, matrix }, matrix.region)).toEqual({ left: 0, step: 50 });
    expect(columnsOf({ arcs: null, matrix: null }, matrix.region)).toEqual({ left: 0, step: 0 });
  });
});
