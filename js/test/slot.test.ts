import { describe, expect, it } from "vitest";
import { encode } from "../src/codec";
import { type ReadoutInput, readoutLines } from "../src/readout";
import { sinkMask, sinkScores } from "../src/sinks";
import { parseSlot, pruneWithSlot, SLOT_LABEL, slotIsSink, slotLine, slotShare } from "../src/slot";
import { snapshotMessage } from "../src/snapshot";

// a causal 3-token head with a learned sink: rows sum to 1 - p_sink
const T = 3;
const P = [0.6, 0.3, 0.2]; // p_sink per query
const A = Float32Array.from([0.4, 0, 0, 0.5, 0.2, 0, 0.1, 0.1, 0.6]);
const slot = { values: Float32Array.from(P), alpha: (0.6 + 0.3 + 0.2) / 3 };
const tokens = ["the", "cat", "sat"];

function input(over: Partial<ReadoutInput> = {}): ReadoutInput {
  const alpha = sinkScores(A, T, true);
  return {
    tokens,
    alpha,
    causal: true,
    eps: 0.3,
    share: 0,
    view: "arcs",
    pruned: pruneWithSlot(A, T, P, 0.9, 16),
    topP: 0.9,
    focus: -1,
    hoverCell: null,
    data: A,
    T,
    aggregatedBlock: 1,
    hidden: null,
    slot: { slot, weighting: "raw" },
    ...over,
  };
}
const text = (r: ReadoutInput) =>
  readoutLines(r).map((l) => l.map((p) => (typeof p === "string" ? p : `[${p.sink}]`)).join(""));

describe("a reply's sink slot", () => {
  const bytes = (v: number[]) => encode([v.length], v);
  it("is read from the buffer the reply names, with its score", () => {
    const got = parseSlot({ sink_slot: 1, slot_alpha: 0.37 }, [new Uint8Array(8), bytes(P)], 3);
    expect(got?.alpha).toBe(0.37);
    expect(Array.from(got?.values ?? []).map((v) => +v.toFixed(3))).toEqual(P);
  });
  it("survives a saved snapshot (buffer 1 of a kernel-less reopening)", () => {
    const b64 = (b: ArrayBuffer) => btoa(String.fromCharCode(...new Uint8Array(b)));
    const reply = { kind: "slice", sink_slot: 1, slot_alpha: 0.37 };
    const snap = { reply, data: b64(bytes([0, 0, 0])), slot: b64(bytes(P)) };
    const msg = snapshotMessage(snap);
    expect(msg?.[1].length).toBe(2);
    const got = msg ? parseSlot(msg[0], msg[1], 3) : null;
    expect(got?.values[0]).toBeCloseTo(0.6, 3);
  });
  it("is null when missing, of the wrong length or malformed", () => {
    expect(parseSlot({}, [bytes(P)], 3)).toBeNull();
    expect(parseSlot({ sink_slot: 1, slot_alpha: 0.3 }, [bytes(P)], 3)).toBeNull();
    expect(parseSlot({ sink_slot: 0, slot_alpha: 0.3 }, [bytes(P)], 4)).toBeNull();
    expect(parseSlot({ sink_slot: 0, slot_alpha: "x" }, [bytes(P)], 3)).toBeNull();
    expect(parseSlot({ sink_slot: 0, slot_alpha: 0.3 }, [new Uint8Array(3)], 3)).toBeNull();
  });
});

describe("the sink slot is a key of its own, never a token", () => {
  it("is a sink by the threshold rule of any key", () => {
    expect(slotIsSink(slot, 0.3)).toBe(true);
    expect(slotIsSink(slot, slot.alpha)).toBe(false); // alpha = eps is not a sink
    expect(slotIsSink(null, 0)).toBe(false);
    expect(slotShare(slot, 0.3)).toBeCloseTo(slot.alpha);
    expect(slotShare(slot, 0.5)).toBe(0);
  });
  it("takes part in top-p with the tokens, as key T", () => {
    const p = pruneWithSlot(A, T, P, 0.9, 16);
    // query 0: slot 0.6 then token 0 (0.4): both kept, mass 1 (the row and its slot sum to 1)
    const row0 = Array.from(p.k).filter((_, i) => p.q[i] === 0);
    expect(row0).toEqual([T, 0]);
    expect(p.kept[0]).toBeCloseTo(1);
    // query 2: token 2 (0.6) then the slot (0.2) then 0.1: 0.9 reached with three
    const row2 = Array.from(p.k).filter((_, i) => p.q[i] === 2);
    expect(row2[0]).toBe(2);
    expect(row2[1]).toBe(T);
  });
  it("is listed among the sink keys by score, labelled, not as a token", () => {
    const [first, second] = text(input());
    const mask = sinkMask(sinkScores(A, T, true), 0.3, true);
    expect(mask[0]).toBe(1);
    expect(first).toContain(`[${SLOT_LABEL}] α = 0.37 over 3 queries`);
    expect(first.indexOf(SLOT_LABEL)).toBeLessThan(first.indexOf("#0"));
    expect(second).toContain("learned sink logit, not a token");
    expect(second).toContain("α = 0.37, p_sink 0.20–0.60, a sink;");
    expect(second).toContain("rows sum to 1 − p_sink, not renormalised");
  });
  it("names the slot where a query's arcs go to it", () => {
    const lines = text(input({ focus: 0 }));
    expect(lines.at(-1)).toContain(`attends to: [${SLOT_LABEL}] 0.60, [#0 “the”] 0.40`);
  });
  it("reads p_sink of a hovered slot cell", () => {
    const lines = text(input({ view: "matrix", hoverCell: [1, T] }));
    expect(lines.at(-1)).toContain("p_sink [q=#1 “cat”] = 0.300 on the [sink slot]");
  });
  it("says hiding sinks removes the slot too", () => {
    const lines = text(input({ hidden: { emptyRows: 0, removed: 0.5 } }));
    expect(lines[1]).toContain(
      "hidden with the sinks (renormalising over the tokens shown drops its",
    );
  });
  it("says what is missing when a copy carries no slot", () => {
    expect(slotLine(null, 0.3, "raw", false)).toContain("rows of A sum to 1 − p_sink");
    expect(text(input({ slot: { slot: null, weighting: "raw" } }))[1]).toContain("no sink slot");
  });
  it("hands nothing out under norm weighting", () => {
    expect(slotLine(slot, 0.3, "norm", false)).toContain("norm-weighted share is 0");
  });
  it("leaves models without learned sinks as they were", () => {
    const lines = text(input({ slot: null }));
    expect(lines.join(" ")).not.toContain(SLOT_LABEL);
  });
});
