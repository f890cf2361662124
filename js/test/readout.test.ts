import { describe, expect, it } from "vitest";
import { pruneMatrix } from "../src/prune";
import { type ReadoutInput, readoutLines } from "../src/readout";
import { shareOnSinks, sinkMask, sinkScores } from "../src/sinks";
import { CAUSAL_5 } from "./matrices";

const A = CAUSAL_5;
const tokens = ["<s>", "a", "b", "c", "d"];

function input(over: Partial<ReadoutInput> = {}): ReadoutInput {
  const causal = over.causal ?? true;
  const eps = over.eps ?? 0.3;
  const alpha = sinkScores(A, 5, causal);
  return {
    tokens,
    alpha,
    causal,
    eps,
    share: shareOnSinks(A, 5, sinkMask(alpha, eps, causal)),
    view: "arcs",
    pruned: pruneMatrix(A, 5, 0.9, 16),
    topP: 0.9,
    focus: -1,
    hoverCell: null,
    data: Float32Array.from(A),
    T: 5,
    aggregatedBlock: 1,
    hidden: null,
    ...over,
  };
}

const text = (r: ReadoutInput) =>
  readoutLines(r).map((l) => l.map((p) => (typeof p === "string" ? p : p.sink)).join(""));

describe("the readout states every sink score with the queries it averages over", () => {
  it("lists sinks as α > ε with |Q(k)|", () => {
    const [first] = text(input());
    expect(first).toBe(
      "Sink keys (α > ε = 0.30): #0 “<s>” α = 0.76 over 5 queries · " +
        "share of this head's attention on sinks: 76.0%",
    );
  });

  it("does not list a key whose score equals ε", () => {
    const alpha = sinkScores(A, 5, true);
    expect(text(input({ eps: alpha[0] }))[0]).toMatch(/^Sink keys \(α > ε = 0\.76\): none/);
  });

  it("hovering a cell gives the key's score and support (T - k queries when causal)", () => {
    const lines = text(input({ view: "matrix", pruned: null, hoverCell: [3, 2] }));
    expect(lines[2]).toBe("A[q=#3 “c”, k=#2 “b”] = 0.250 · key #2: α = 0.18 over 3 queries");
  });

  it("a bidirectional model's key is seen by all T queries", () => {
    const lines = text(input({ causal: false, view: "matrix", pruned: null, hoverCell: [4, 3] }));
    expect(lines[2]).toMatch(/key #3: α = 0\.05 over 5 queries$/);
  });

  it("focusing a query (hover or click on a token) gives its own score as a key", () => {
    const lines = text(input({ focus: 3 }));
    expect(lines[2]).toMatch(/^Query #3 “c” attends to: #0 “<s>” 0\.50, /);
    expect(lines[2]).toMatch(/ · as a key: α = 0\.13 over 2 queries$/);
  });

  it("highlights a key in the hover line only when it is a sink", () => {
    const pieces = readoutLines(input({ view: "matrix", pruned: null, hoverCell: [4, 0] }))[2];
    expect(pieces[1]).toEqual({ sink: "#0 “<s>”" });
    const other = readoutLines(input({ view: "matrix", pruned: null, hoverCell: [4, 4] }))[2];
    expect(other[1]).toBe("#4 “d”"); // alpha[4] = 0.05: one query, and below ε
  });
});

describe("readout of a pooled slice", () => {
  // CAUSAL_5 max-pooled on rows [0, 2, 5] x keys [0, 2, 5]
  const rows = Int32Array.from([0, 2, 5]);
  const cols = Int32Array.from([0, 2, 5]);
  const cells = Float32Array.from([0.9, 0, 0.8, 0.5]);
  const grid = { rows, cols, pool: "max" };

  it("names the block under the pointer and its pooled value", () => {
    const lines = readoutLines(input({ view: "matrix", data: cells, grid, hoverCell: [3, 1] }));
    const text = lines.map((l) => l.map((p) => (typeof p === "string" ? p : p.sink)).join(""));
    expect(text[2]).toMatch(/^max of A over queries #2–4, keys #0–1 = 0\.800 \(zoom in/);
  });

  it("gives the exact value when the cell is one token pair", () => {
    const one = { rows: Int32Array.from([0, 1, 5]), cols: Int32Array.from([0, 1, 5]), pool: "max" };
    const lines = readoutLines(
      input({ view: "matrix", data: cells, grid: one, hoverCell: [0, 0] }),
    );
    const text = lines.map((l) => l.map((p) => (typeof p === "string" ? p : p.sink)).join(""));
    expect(text[2]).toMatch(/^A\[q=#0 “<s>”, k=#0 “<s>”\] = 0\.900/);
  });
});
