// Sink slot: the learned per-head sink logit of gpt-oss-like models (SCIENCE.md D13), shown as
// a virtual key column that is labelled and never a token. Eager attention drops the sink's
// column of the softmax, so rows of A sum to 1 - p_sink; the kernel sends p_sink per query row
// (run.slot) and the slot's D1-style score (mean p_sink over every query). The slot has index
// T (one past the last token) wherever a key index is expected: pruned arcs, hovered cells.
// Pure functions, no DOM.

import { decode } from "./codec";
import { pct } from "./header";
import { type Pruned, pruneEach, topP } from "./prune";
import { aboveThreshold } from "./sinks";
import type { Bytes } from "./types";

/** What the views write where a token's text would go: the slot is not a token. */
export const SLOT_LABEL = "sink slot";

/** The slot's column for the rows of one slice, and its score. */
export interface Slot {
  /** p_sink per row of the slice (per row bin of a pooled region); 0 when norm-weighted */
  values: Float32Array;
  /** the slot's D1-style score: mean of p_sink over every query (0 when norm-weighted) */
  alpha: number;
}

/**
 * The slot a reply carries (`sink_slot`: the index of its float16 buffer of `rows` values,
 * `slot_alpha`: its score), or null when it carries none or it is malformed.
 */
export function parseSlot(
  msg: Record<string, unknown>,
  buffers: Bytes[] | undefined,
  rows: number,
): Slot | null {
  const i = msg.sink_slot;
  const a = msg.slot_alpha;
  if (!Number.isInteger(i) || typeof a !== "number" || !Number.isFinite(a)) return null;
  const buf = buffers?.[i as number];
  if (!buf) return null;
  try {
    const d = decode(buf);
    return d.shape.length === 1 && d.shape[0] === rows ? { values: d.data, alpha: a } : null;
  } catch {
    return null;
  }
}

/**
 * Every query sees the slot, so its score always averages over all T queries and it is a sink
 * by the same rule as a key: alpha > eps.
 */
export function slotIsSink(slot: Slot | null | undefined, eps: number): boolean {
  return slot ? aboveThreshold(slot.alpha, eps) : false;
}

/** "α = 0.41 over 12 queries": the slot's score, as alphaText writes a key's. */
export function slotAlphaText(slot: Slot, T: number): string {
  return `α = ${slot.alpha.toFixed(2)} over ${T} ${T === 1 ? "query" : "queries"}`;
}

/**
 * Top-p arcs over each row's tokens and the slot together (the slot is key T): a row of A
 * sums to 1 - p_sink, and with the slot it sums to 1, so top-p means what it means elsewhere.
 */
export function pruneWithSlot(
  data: ArrayLike<number>,
  T: number,
  slot: ArrayLike<number>,
  p: number,
  maxK: number,
): Pruned {
  const row = new Float32Array(T + 1);
  return pruneEach(T, (r) => {
    for (let j = 0; j < T; j++) row[j] = data[r * T + j];
    row[T] = slot[r] ?? 0;
    return topP(row, 0, T + 1, p, maxK);
  });
}

/** Mean over queries of the row mass on the slot when it is a sink (added to the sink share). */
export function slotShare(slot: Slot | null | undefined, eps: number): number {
  return slot && slotIsSink(slot, eps) ? slot.alpha : 0;
}

/**
 * The readout's line about the slot: what it is, its score, and what the rows sum to. With
 * sinks hidden it says the slot went too (hiding renormalises rows over the tokens shown).
 */
export function slotLine(
  slot: Slot | null | undefined,
  eps: number,
  weighting: string,
  hidden: boolean,
): string {
  if (!slot) {
    return (
      `This model has learned sink logits, but this copy of the view carries no ${SLOT_LABEL} ` +
      "column: rows of A sum to 1 − p_sink, not 1."
    );
  }
  if (weighting === "norm") {
    return (
      `${SLOT_LABEL} (learned sink logit, not a token): it has no value vector, so its ` +
      "norm-weighted share is 0; raw attention shows its p_sink."
    );
  }
  let lo = Number.POSITIVE_INFINITY;
  let hi = 0;
  for (const v of slot.values) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  const range = slot.values.length ? `, p_sink ${lo.toFixed(2)}–${hi.toFixed(2)}` : "";
  const sink = slotIsSink(slot, eps) ? "a sink" : "not a sink";
  const rest = hidden
    ? `hidden with the sinks (renormalising over the tokens shown drops its ${pct(slot.alpha)})`
    : "rows sum to 1 − p_sink, not renormalised";
  return (
    `${SLOT_LABEL} (learned sink logit, not a token): α = ${slot.alpha.toFixed(2)}${range}, ` +
    `${sink}; ${rest}.`
  );
}
