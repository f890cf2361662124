import { describe, expect, it } from "vitest";
import { encode } from "../src/codec";
import { crossShareOnSinks, crossSinkScores, queryTokensOf } from "../src/cross";
import { crossGeometry } from "../src/draw/crossarcs";
import { crossCellAt, crossMatrixLayout } from "../src/draw/crossmatrix";
import { headerItems } from "../src/header";
import { pruneRows } from "../src/prune";
import { type ReadoutInput, readoutLines } from "../src/readout";
import { hideSinks, sinkMask } from "../src/sinks";
import { alphaOf, hiddenOf, prunedOf, SliceClient } from "../src/slices";
import type { Meta, SliceRequest, WidgetModel } from "../src/types";
import { crossCases } from "./fixtures";

const FIX = { cases: crossCases() };

const close = (got: ArrayLike<number>, want: number[]) => {
  expect(got.length).toBe(want.length);
  want.forEach((v, i) => {
    expect(got[i]).toBeCloseTo(v, 6);
  });
};

describe("cross-attention rules shared with pytest (tests/fixtures/cross.json)", () => {
  FIX.cases.forEach((c, n) => {
    it(`case ${n}: [${c.Tq}, ${c.Tk}] sink scores over decoder queries, mask, hide, share`, () => {
      const alpha = crossSinkScores(c.data, c.Tq, c.Tk);
      close(alpha, c.alpha);
      const mask = sinkMask(alpha, c.eps, false);
      expect(Array.from(mask, Boolean)).toEqual(c.sinks);
      const hid = hideSinks(c.data, c.Tk, mask, c.Tq);
      close(hid.data, c.hidden);
      expect(hid.emptyRows).toBe(c.empty_rows);
      expect(hid.removed).toBeCloseTo(c.removed, 6);
      expect(crossShareOnSinks(c.data, c.Tq, c.Tk, mask)).toBeCloseTo(c.share, 6);
    });

    it(`case ${n}: top-p arcs of every decoder query`, () => {
      const p = pruneRows(c.data, c.Tq, c.Tk, 0.9, 16);
      const arcs = Array.from(p.q, (q, i) => [q, p.k[i], p.w[i]]);
      expect(arcs.length).toBe(c.arcs.length);
      arcs.forEach(([q, k, w], i) => {
        expect([q, k]).toEqual(c.arcs[i].slice(0, 2));
        expect(w).toBeCloseTo(c.arcs[i][2], 6);
      });
      expect(p.kept.length).toBe(c.Tq);
    });
  });
});

describe("cross-attention entries", () => {
  const c = FIX.cases[0];
  it("memoised sink scores, arcs and hidden sinks follow the [Tq, T] shape", () => {
    const e = { key: "0|-1|raw", T: c.Tk, Tq: c.Tq, data: Float32Array.from(c.data), stats: null };
    close(alphaOf(e, false), c.alpha);
    expect(prunedOf(e).kept.length).toBe(c.Tq);
    const h = hiddenOf(e, sinkMask(alphaOf(e, false), c.eps));
    expect(h.entry.Tq).toBe(c.Tq);
    close(h.entry.data, c.hidden);
  });

  it("the client keeps a [Tq, T] slice and drops one of another shape", () => {
    const sent: SliceRequest[] = [];
    const model = { send: (m: SliceRequest) => sent.push(m) } as unknown as WidgetModel;
    const got: string[] = [];
    const client = new SliceClient(
      model,
      () => c.Tk,
      (k) => got.push(k),
      () => {},
      () => c.Tq,
    );
    client.request(0, -1, "raw");
    const msg = { kind: "slice", layer: 0, head: -1, weighting: "raw" };
    client.handle(msg, [new DataView(encode([c.Tk, c.Tk], new Array(c.Tk * c.Tk).fill(0)))]);
    expect(got).toEqual([]); // square: a slice of another run
    client.handle(msg, [new DataView(encode([c.Tq, c.Tk], c.data))]);
    const e = client.get(0, -1, "raw");
    expect(e?.Tq).toBe(c.Tq);
    expect(e?.T).toBe(c.Tk);
    close(e?.data ?? [], c.data);
  });
});

describe("cross-attention text", () => {
  const c = FIX.cases[0];
  const keys = ["<s>", "the", "cat", "sat", "</s>"];
  const queries = ["<pad>", "le", "chat"];
  const alpha = crossSinkScores(c.data, c.Tq, c.Tk);
  const input: ReadoutInput = {
    tokens: keys,
    queryTokens: queries,
    alpha,
    causal: false,
    eps: c.eps,
    share: c.share,
    view: "matrix",
    pruned: pruneRows(c.data, c.Tq, c.Tk, 0.9, 16),
    topP: 0.9,
    focus: -1,
    hoverCell: [2, 1],
    data: Float32Array.from(c.data),
    T: c.Tk,
    aggregatedBlock: 1,
    hidden: null,
  };
  const text = (r: ReadoutInput) =>
    readoutLines(r).map((l) => l.map((p) => (typeof p === "string" ? p : p.sink)).join(""));

  it("scores keys over the decoder queries and names rows by decoder tokens", () => {
    const [first, , hover] = text(input);
    expect(first).toMatch(/^Sink keys \(α > ε = 0\.30\): #0 “<s>” α = 0\.63 over 3 queries/);
    expect(hover).toBe("A[q=#2 “chat”, k=#1 “the”] = 0.125 · key #1: α = 0.13 over 3 queries");
  });

  it("a focused decoder query lists its encoder keys, and is not scored as a key", () => {
    const lines = text({ ...input, view: "arcs", hoverCell: null, focus: 1 });
    expect(lines[2]).toMatch(/^Query #1 “le” attends to: #0 “<s>” 0\.63, #2 “cat” 0\.25/);
    expect(lines[2]).not.toMatch(/as a key/);
  });

  it("the header says decoder x encoder", () => {
    const meta = { T: 5, query_tokens: queries, causal: false } as unknown as Meta;
    const items = Object.fromEntries(
      headerItems({
        meta,
        layer: 0,
        head: -1,
        weighting: "raw",
        threshold: 0.3,
        hideSinks: false,
        label: "",
        loading: false,
      }),
    );
    expect(items.T).toBe("3 decoder × 5 encoder");
    expect(items.attention).toBe("cross (decoder → encoder)");
    expect(queryTokensOf(meta)).toEqual(queries);
    expect(queryTokensOf({ query_tokens: [1, 2] })).toBeNull();
  });
});

describe("two-row arc geometry", () => {
  it("puts the decoder row above the encoder row, each spread over the same width", () => {
    const g = crossGeometry(3, 7, 800, 40);
    expect(g.top).toBeLessThan(g.bottom);
    expect(g.height).toBeGreaterThan(g.bottom);
    expect(g.queries.xs.length).toBe(3);
    expect(g.keys.xs.length).toBe(7);
    expect(g.queries.xs[0]).toBeGreaterThan(0);
    expect(g.keys.xs[6]).toBeLessThan(800);
    expect(g.queries.step).toBeGreaterThan(g.keys.step);
  });
});

describe("rectangular matrix layout", () => {
  it("keeps cells square across the longer side", () => {
    expect(crossMatrixLayout(4, 10, 600)).toEqual({ w: 600, h: 240 });
    expect(crossMatrixLayout(10, 4, 600)).toEqual({ w: 240, h: 600 });
    expect(crossMatrixLayout(5, 5, 600)).toEqual({ w: 600, h: 600 });
  });

  it("stretches a side that would get under 6 px per token, never past the space", () => {
    expect(crossMatrixLayout(3, 600, 600)).toEqual({ w: 600, h: 18 });
    expect(crossMatrixLayout(200, 1000, 600).h).toBe(600);
  });

  it("maps a pointer to its [decoder query, encoder key] cell", () => {
    const hit = { x0: 100, y0: 40, w: 600, h: 240, Tq: 4, Tk: 10, block: 1 };
    expect(crossCellAt(hit, 100, 40)).toEqual([0, 0]);
    expect(crossCellAt(hit, 100 + 60 * 2.5, 40 + 60 * 1.5)).toEqual([1, 2]);
    expect(crossCellAt(hit, 699, 279)).toEqual([3, 9]);
    expect(crossCellAt(hit, 99, 50)).toBeNull();
    expect(crossCellAt(hit, 200, 281)).toBeNull();
  });
});
