import { describe, expect, it } from "vitest";
import type { Entry } from "../src/slices";
import type { Meta, Traits } from "../src/types";
import {
  controlState,
  EMPTY_META,
  figureName,
  headerState,
  standIn,
  stripCaptionText,
  type ViewState,
  viewState,
  visibleRegion,
  waitingText,
  wantSpec,
} from "../src/viewstate";

function state(traits: Partial<Traits> = {}, meta: Partial<Meta> = {}): ViewState {
  const all: Partial<Traits> = {
    tokens: [],
    meta: { ...EMPTY_META, model: "SmolLM2", n_layers: 30, n_heads: 9, T: 4096, ...meta },
    layer: 3,
    head: -1,
    view: "matrix",
    ...traits,
  };
  return viewState(<K extends keyof Traits>(k: K) => all[k] as Traits[K]);
}

const ALL = { q0: 0, q1: 4096, k0: 0, k1: 4096 };

describe("what to ask for", () => {
  it("an exact run asks for the whole slice (no spec)", () => {
    expect(wantSpec(state(), ALL, 800, 2)).toBeNull();
  });

  it("a pooled run asks for the region pooled to the matrix's device pixels", () => {
    const s = state({}, { pooled: true });
    // 800 px wide: a 620 px matrix; at 1 device px per CSS px that is 1024 blocks a side
    expect(wantSpec(s, ALL, 800, 1)).toEqual({ ...ALL, bins: 1024 });
    // a narrow figure on a 2x screen: (400 - 126) * 2 = 548 -> 1024; at 1x: 274 -> 512
    expect(wantSpec(s, ALL, 400, 1)?.bins).toBe(512);
    // never more than meta.pool_bins
    expect(wantSpec(state({}, { pooled: true, pool_bins: 256 }), ALL, 800, 2)?.bins).toBe(256);
    // a region no longer than the blocks is asked for exactly
    const small = { q0: 100, q1: 300, k0: 0, k1: 200 };
    expect(wantSpec(s, small, 800, 1)).toEqual({ ...small, bins: null });
  });

  it("cross-attention shows the whole [Tq, T] slice whatever the zoom", () => {
    const zoom = { q0: 1, q1: 2, k0: 3, k1: 4 };
    expect(visibleRegion(state({}, { T: 6 }), zoom)).toBe(zoom);
    const cross = state({}, { T: 6, query_tokens: ["a", "b", "c"] });
    expect(visibleRegion(cross, zoom)).toEqual({ q0: 0, q1: 3, k0: 0, k1: 6 });
  });
});

describe("what to draw while the slice is in flight", () => {
  const region = { q0: 0, q1: 100, k0: 0, k1: 100 };
  const slice = (key: string, grid?: Entry["grid"]): Entry => ({
    key,
    T: 4096,
    data: new Float32Array(1),
    stats: null,
    grid,
  });
  const pooled = (q1: number) => ({
    ...{ q0: 0, q1, k0: 0, k1: q1, bins: 64, pool: "max" as const },
    ...{ rows: new Int32Array(65), cols: new Int32Array(65) },
  });
  const spec = { ...region, bins: null };

  it("exact runs keep the last slice drawn", () => {
    const drawn = slice("a");
    expect(standIn(null, undefined, drawn, region)).toBe(drawn);
    expect(standIn(null, undefined, null, region)).toBeNull();
  });

  it("pooled runs draw the best cached cover, else a drawn region that covers the view", () => {
    const best = slice("best", pooled(4096));
    const covering = slice("drawn", pooled(200));
    const elsewhere = slice("drawn", pooled(50));
    expect(standIn(spec, best, covering, region)).toBe(best);
    expect(standIn(spec, undefined, covering, region)).toBe(covering);
    expect(standIn(spec, undefined, elsewhere, region)).toBeNull();
    expect(standIn(spec, undefined, slice("exact"), region)).toBeNull();
  });

  it("and says what it waits for when there is nothing", () => {
    expect(waitingText(5)).toBe("Waiting for the attention slice from the kernel…");
    expect(waitingText(0)).toBe("No tokens yet.");
  });
});

describe("controls, header, captions and file names follow the traits", () => {
  it("controls: summary mode locks the head, pooled runs lock arcs", () => {
    const c = controlState(
      state({ threshold: 0.5, hide_sinks: true }, { summary: "x", pooled: true }),
    );
    expect(c).toMatchObject({ layer: 3, head: -1, threshold: 0.5, hideSinks: true });
    expect(c).toMatchObject({ nLayers: 30, nHeads: 9, headLocked: true, pooled: true });
    expect(controlState(state())).toMatchObject({ headLocked: false, pooled: false });
  });

  it("header: T from the tokens when meta has none, loading while in flight", () => {
    const h = headerState(state({ tokens: ["a", "b"], label: "left" }, { T: 0 }), true);
    expect(h.meta.T).toBe(2);
    expect(h).toMatchObject({ layer: 3, head: -1, weighting: "raw", label: "left", loading: true });
  });

  it("the strip caption names the keys for cross-attention", () => {
    expect(stripCaptionText(state())).toBe("Tokens — click to select a query; ");
    expect(stripCaptionText(state({}, { query_tokens: ["a"] }))).toMatch(/^Encoder tokens/);
  });

  it("a saved figure's name says model, layer, head, weighting and view", () => {
    expect(figureName(state({ weighting: "norm", view: "arcs" }))).toEqual({
      ...{ model: "SmolLM2", layer: 3, head: -1, weighting: "norm", view: "arcs" },
    });
    const cross = state({}, { model: "x".repeat(40), query_tokens: ["a"] });
    expect(figureName(cross).model).toBe(`${"x".repeat(34)}_cross`);
  });
});
