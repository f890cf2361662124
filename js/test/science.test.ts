import { describe, expect, it } from "vitest";
import { encode } from "../src/codec";
import { fitText } from "../src/draw/theme";
import { headerItems } from "../src/header";
import { barBlock, barHeights, blockMax, fmt, hiddenWhat, rowLabels } from "../src/norms";
import { readoutLines } from "../src/readout";
import { hideSinks, shareOnSinks, sinkMask, sinkScores } from "../src/sinks";
import { hiddenOf, parseStats, SliceClient } from "../src/slices";
import type { Meta, SliceRequest, WidgetModel } from "../src/types";
import { CAUSAL_5 } from "./matrices";

const A = CAUSAL_5;

const rows = (data: ArrayLike<number>, T: number) =>
  Array.from({ length: T }, (_, q) => Array.from(data).slice(q * T, (q + 1) * T));

describe("hideSinks: what a head does apart from sinking", () => {
  it("zeros the sink columns and renormalises every row to 1", () => {
    const mask = Uint8Array.from([1, 0, 0, 0, 0]);
    const h = hideSinks(A, 5, mask);
    const r = rows(h.data, 5);
    expect(r[0]).toEqual([0, 0, 0, 0, 0]); // all its mass was on the sink
    expect(r[1].map((x) => +x.toFixed(6))).toEqual([0, 1, 0, 0, 0]);
    expect(r[2].map((x) => +x.toFixed(6))).toEqual([0, 0.25, 0.75, 0, 0]);
    expect(r[3].map((x) => +x.toFixed(6))).toEqual([0, 0, 0.5, 0.5, 0]);
    expect(r[4].map((x) => +x.toFixed(6))).toEqual([0, 0.5, 0, 0, 0.5]);
    for (const row of r.slice(1)) expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    expect(h.emptyRows).toBe(1);
    expect(h.removed).toBeCloseTo((1 + 0.8 + 0.6 + 0.5 + 0.9) / 5, 6);
    expect(h.removed).toBeCloseTo(shareOnSinks(A, 5, mask), 6);
  });

  it("leaves the slice unchanged (up to rounding) when there are no sinks", () => {
    const h = hideSinks(A, 5, new Uint8Array(5));
    expect(Array.from(h.data).map((x) => +x.toFixed(6))).toEqual(A);
    expect(h.emptyRows).toBe(0);
    expect(h.removed).toBe(0);
  });

  it("hides several sinks (bidirectional) and renormalises what is left", () => {
    const B = [0.5, 0.1, 0.3, 0.1, 0.4, 0.2, 0.4, 0, 0.6, 0, 0.2, 0.2, 0.3, 0.3, 0.3, 0.1];
    const mask = sinkMask(sinkScores(B, 4, false), 0.25, false); // alpha = .45 .15 .3 .1
    expect(Array.from(mask)).toEqual([1, 0, 1, 0]);
    const r = rows(hideSinks(B, 4, mask).data, 4).map((row) => row.map((x) => +x.toFixed(6)));
    expect(r).toEqual([
      [0, 0.5, 0, 0.5],
      [0, 1, 0, 0],
      [0, 0, 0, 1],
      [0, 0.75, 0, 0.25],
    ]);
  });

  it("never hides keys too few queries see (the minimum-support rule of sinkMask)", () => {
    // causal T = 5: alpha[2] = (0.3 + 0.25 + 0) / 3 >= 0.15, but only 3 queries see key 2
    const mask = sinkMask(sinkScores(A, 5, true), 0.15, true);
    expect(Array.from(mask)).toEqual([1, 0, 0, 0, 0]);
    const r = rows(hideSinks(A, 5, mask).data, 5);
    expect(r[3].map((x) => +x.toFixed(6))).toEqual([0, 0, 0.5, 0.5, 0]);
  });

  it("is memoised per mask on a slice entry", () => {
    const e = { key: "1|-1|raw", T: 5, data: Float32Array.from(A), stats: null };
    const m = Uint8Array.from([1, 0, 0, 0, 0]);
    const a = hiddenOf(e, m);
    expect(hiddenOf(e, Uint8Array.from(m))).toBe(a);
    expect(a.entry.key).toBe("1|-1|raw|hidden");
    const b = hiddenOf(e, Uint8Array.from([0, 1, 0, 0, 0]));
    expect(b).not.toBe(a);
    expect(b.hidden.emptyRows).toBe(0);
  });
});

describe("token stats travel with the slice", () => {
  const model = { send: (_m: SliceRequest) => undefined } as unknown as WidgetModel;
  const bytes = () => [new DataView(encode([2, 2], [1, 0, 0.5, 0.5]))];

  it("keeps well-formed stats and drops malformed ones", () => {
    const c = new SliceClient(
      model,
      () => 2,
      () => undefined,
      () => undefined,
    );
    const stats = { hidden_norm: [2500, 3.5], value_norm: [0.1, 2], massive: [0] };
    c.handle({ kind: "slice", layer: 1, head: 0, weighting: "raw", stats }, bytes());
    expect(c.get(1, 0, "raw")?.stats).toEqual(stats);
    c.handle({ kind: "slice", layer: 2, head: 0, weighting: "raw", stats: null }, bytes());
    expect(c.get(2, 0, "raw")?.stats).toBeNull();
  });

  it("parseStats checks lengths and indices", () => {
    expect(parseStats({ hidden_norm: [1, 2, 3] }, 2)).toBeNull();
    expect(parseStats({ hidden_norm: [1, 2], value_norm: [1], massive: [0, 7, -1] }, 2)).toEqual({
      hidden_norm: [1, 2],
      value_norm: null,
      massive: [0],
    });
  });
});

describe("norms strip helpers", () => {
  it("scales bars on a log scale to the row's max, keeping small ones visible", () => {
    const h = barHeights([22000, 50, 0, 1], 20);
    expect(h[0]).toBe(20);
    expect(h[1]).toBeCloseTo((20 * Math.log1p(50)) / Math.log1p(22000), 6);
    expect(h[1]).toBeGreaterThan(5);
    expect(h[2]).toBe(0);
    expect(h[3]).toBeGreaterThanOrEqual(1);
    expect(Array.from(barHeights([0, 0]))).toEqual([0, 0]);
  });

  it("labels say which layer and head the numbers belong to", () => {
    const s = { hidden_norm: [22550, 40.1], value_norm: [0.2, 1.5], massive: [0] };
    const l = rowLabels(s, 12, -1, 9);
    expect(l.hidden).toBe("‖h‖ after layer 12 (residual stream) · max 2.3e+4 at #0");
    expect(l.value).toBe("‖v‖ mean of 9 heads (value vectors) · max 1.50 at #1");
    expect(rowLabels({ ...s, value_norm: null }, 3, 4, 9).value).toBe("");
    expect(rowLabels(s, 3, 4, 9).value).toMatch(/^‖v‖ head 4 /);
    expect(fmt(0.123456)).toBe("0.123");
  });

  it("after the last layer the ‖h‖ row says which hidden state it is (meta.last_hidden)", () => {
    const s = { hidden_norm: [22550, 40.1], value_norm: null, massive: [0] };
    const before = "last block output (before the final norm)";
    expect(rowLabels(s, 29, -1, 9, 30, before).hidden).toBe(
      "‖h‖ after layer 29: last block output (before the final norm) · max 2.3e+4 at #0",
    );
    expect(rowLabels(s, 28, -1, 9, 30, before).hidden).toMatch(/^‖h‖ after layer 28 \(residual/);
    expect(hiddenWhat(5, 6, "last block output")).toBe("after layer 5: last block output");
    expect(hiddenWhat(5, 6, "")).toBe("after layer 5 (residual stream)"); // runs from arrays
  });
});

describe("captions say what is shown", () => {
  const meta: Meta = {
    model: "smollm2",
    model_class: "LlamaForCausalLM",
    causal: true,
    bos_added: false,
    first_token: "The",
    n_layers: 30,
    n_heads: 9,
    T: 5,
    weightings: ["raw", "norm"],
  };
  const base = { meta, layer: 3, head: -1, threshold: 0.3, label: "A", loading: false };

  it("header names the weighting and hidden sinks", () => {
    const raw = Object.fromEntries(headerItems({ ...base, weighting: "raw", hideSinks: false }));
    expect(raw.weighting).toBe("raw");
    expect(raw.sinks).toBeUndefined();
    const nw = Object.fromEntries(headerItems({ ...base, weighting: "norm", hideSinks: true }));
    expect(nw.weighting).toBe("norm-weighted");
    expect(nw.sinks).toBe("hidden, rows renormalised");
  });

  it("norm bars merge tokens into blocks when each token gets under 3 px", () => {
    expect(barBlock(12)).toBe(1);
    expect(barBlock(3)).toBe(1);
    expect(barBlock(0.3)).toBe(10); // T = 2048 on ~620 px: 10 tokens a bar, ~205 bars
    expect(blockMax([1, 5, 2, 8, 3], 2)).toEqual([5, 8, 3]);
    expect(blockMax([1, 5, 2], 1)).toEqual([1, 5, 2]);
    expect(Math.ceil(2048 / barBlock(620 / 2048))).toBeLessThanOrEqual(207);
  });

  it("header says when only a summary was kept, and what was left out", () => {
    const state = { ...base, weighting: "raw" as const, hideSinks: false };
    expect(Object.fromEntries(headerItems(state)).kept).toBeUndefined();
    const note = "Summary mode (T=4096): every head's map would take 9.1 GB.";
    const summ = Object.fromEntries(headerItems({ ...state, meta: { ...meta, summary: note } }));
    expect(summ.kept).toBe("mean of heads + sink scores (summary mode)");
  });

  it("readout says sinks are hidden and how much mass went", () => {
    const mask = Uint8Array.from([1, 0, 0, 0, 0]);
    const h = hideSinks(A, 5, mask);
    const lines = readoutLines({
      tokens: ["a", "b", "c", "d", "e"],
      alpha: sinkScores(A, 5, true),
      causal: true,
      eps: 0.3,
      share: shareOnSinks(A, 5, mask),
      view: "matrix",
      pruned: null,
      topP: 0.9,
      focus: -1,
      hoverCell: null,
      data: h.data,
      T: 5,
      aggregatedBlock: 1,
      hidden: h,
    });
    expect(lines[1].join("")).toMatch(
      /^Sinks hidden, rows renormalised \(removed 76\.0% of the mass; 1 row left empty\)/,
    );
  });
});

describe("fitText keeps long titles off the legend", () => {
  const ctx = { measureText: (t: string) => ({ width: 6 * Array.from(t).length }) };
  const c = ctx as unknown as CanvasRenderingContext2D;
  it("cuts with an ellipsis to the width, and leaves short text alone", () => {
    expect(fitText(c, "layer 3, head 2", 600)).toBe("layer 3, head 2");
    const cut = fitText(c, "Attention arcs · layer 29, sinks hidden, rows renormalised", 120);
    expect(cut).toBe("Attention arcs · la…"); // 19 characters and "…" = 120 px
    expect(6 * Array.from(cut).length).toBeLessThanOrEqual(120);
    expect(fitText(c, "abc", 3)).toBe("…");
  });
});
