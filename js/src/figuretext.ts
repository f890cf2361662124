// What a painted slice is (pure): the words its title and aria label use, and the share of
// the head's attention on sinks that the readout states. index.ts passes what it knows.

import { crossShareOnSinks } from "./cross";
import { shareFromScores, shareOnSinks } from "./sinks";
import { type Slot, slotShare } from "./slot";

export interface WhatInput {
  layer: number;
  head: number;
  weighting: string;
  /** sinks hidden (rows renormalised) */
  hidden: boolean;
  /** the run has a learned sink slot (hiding sinks removes it too) */
  slotRun: boolean;
  /** the sentence-pair segment text, "" for all */
  segment: string;
  /** the slot's column is drawn */
  withSlot: boolean;
}

/** "layer 3, head 2, raw, sinks hidden, rows renormalised, only ..." */
export function whatText(w: WhatInput): string {
  const head = w.head < 0 ? "mean of heads" : `head ${w.head}`;
  const weighting = w.weighting === "norm" ? "norm-weighted" : "raw";
  const hidden = w.hidden
    ? `, sinks${w.slotRun ? " and sink slot" : ""} hidden, rows renormalised`
    : "";
  const seg = w.segment ? `, only ${w.segment}` : "";
  return `layer ${w.layer}, ${head}, ${weighting}${hidden}${seg}${w.withSlot ? ", with sink slot" : ""}`;
}

export interface ShareInput {
  data: ArrayLike<number>;
  T: number;
  alpha: ArrayLike<number>;
  mask: ArrayLike<number>;
  causal: boolean;
  /** a pooled region: only the scores are exact */
  pooled: boolean;
  /** cross-attention: the number of decoder queries (rows), else null */
  Tq: number | null;
  slot: Slot | null;
  eps: number;
}

/** Share of the head's attention that lands on sink keys (and on the slot when it is one). */
export function sinkShare(s: ShareInput): number {
  const tokens = s.pooled
    ? shareFromScores(s.alpha, s.mask, s.causal)
    : s.Tq !== null
      ? crossShareOnSinks(s.data, s.Tq, s.T, s.mask)
      : shareOnSinks(s.data, s.T, s.mask);
  return tokens + slotShare(s.slot, s.eps);
}
