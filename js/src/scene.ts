// Scene (pure): everything one paint shows, from the view state (viewstate.ts), the slice to
// draw and the view's own pointer and zoom: which data (sinks hidden, a segment), the sink
// mask and scores, the pruned arcs, the title and aria words, the captions, the readout's
// input and data-painted. index.ts computes it; view.ts hands it to the painters. No DOM.

import { poolText } from "./bins";
import type { ArcsHit } from "./draw/arcs";
import type { FigureInput } from "./draw/figure";
import type { MatrixHit } from "./draw/matrix";
import { sinkShare, whatText } from "./figuretext";
import type { Columns, NormsInput } from "./norms";
import type { ReadoutInput } from "./readout";
import { segmentOf, segmentText } from "./segments";
import { sinkMask } from "./sinks";
import { alphaOf, type Entry, hiddenOf, prunedOf, quantNote, TOP_P } from "./slices";
import { slotIsSink } from "./slot";
import { displayToken } from "./tokens";
import type { ViewState } from "./viewstate";
import { isFull, type Region, regionText } from "./zoom";

/** Display strings of n tokens: `prev` again when it already has n of them. */
export function labelsFor(prev: string[] | null | undefined, tokens: string[], n: number) {
  return prev?.length === n
    ? prev
    : Array.from({ length: n }, (_, i) => displayToken(tokens[i] ?? ""));
}

/** What the view keeps between paints: the pointer and the display strings last drawn. */
export interface Pointer {
  /** token under the pointer (arcs, token strip), -1 for none */
  hover: number;
  /** [query, key] under the pointer (matrix), key T is the sink slot */
  hoverCell: [number, number] | null;
  /** display strings of the last paint, reused when the token counts match */
  labels: string[];
  queryLabels: string[] | null;
}

export const NO_POINTER: Pointer = { hover: -1, hoverCell: null, labels: [], queryLabels: null };

/** Whether the pointer is somewhere else than `p` says. */
export function moved(p: Pointer, i: number, cell: [number, number] | null): boolean {
  const was = p.hoverCell;
  const same = cell && was ? cell[0] === was[0] && cell[1] === was[1] : cell === was;
  return i !== p.hover || !same;
}

/** Everything a paint reads: the traits, the slice, the pointer and the zoom. */
export interface SceneInput extends Pointer {
  state: ViewState;
  /** the slice to draw (the one asked for, or a stand-in while it is in flight) */
  entry: Entry;
  /** the zoomed region of the entry's T tokens (all of them when not zoomed) */
  zoom: Region;
  /** a zoom drag in progress: its corner cells */
  band: [[number, number], [number, number]] | null;
}

export interface Scene {
  /** what drawFigure draws, less the theme and width measured at paint time */
  figure: Omit<FigureInput, "theme" | "width">;
  /** the canvas's aria-label */
  aria: string;
  /** the caption under the figure (ZoomControl.caption) */
  caption: { matrix: boolean; T: number; quant: string; pooled: string };
  /** the token strip: the sink keys and the selected query (-1 for cross-attention) */
  strip: { mask: Uint8Array; selected: number };
  /** the norms strip, less the columns, known once the figure is drawn (columnsOf) */
  norms: Omit<NormsInput, "columns">;
  /** the overview grid's threshold and outlined cell */
  grid: { eps: number; layer: number; head: number };
  /** the readout, less the drawn block size, known once the figure is drawn */
  readout: Omit<ReadoutInput, "aggregatedBlock">;
  /** data-painted, for tests and benchmarks: "layer|head|weighting:view[:hidden][:segment]" */
  painted: string;
}

/** Everything one paint shows of `entry`. */
export function sceneOf(i: SceneInput): Scene {
  const { state: s, entry, hover, hoverCell } = i;
  const mt = s.meta;
  const eps = s.threshold;
  const g = entry.grid ?? null; // a pooled region: no arcs, hidden sinks or segments
  const view = s.view === "matrix" || g ? "matrix" : "arcs";
  // what this slice is: the view may have moved on (a slice in flight, or no kernel at all
  // in a reopened notebook); the figure says what it draws, the header what was asked for
  const [layer, head] = entry.key.split("|").map(Number);
  const weighting = entry.key.split("|")[2];
  const alpha = alphaOf(entry, mt.causal);
  const mask = sinkMask(alpha, eps, mt.causal);
  const focus = hover >= 0 ? hover : s.selected;
  const hide = s.hideSinks && !g ? hiddenOf(entry, mask) : null;
  const seg = g ? "" : segmentText(s.segment, entry.T, mt.segment_b_start);
  // what is drawn: the slice, or it with sinks hidden, restricted to a sentence pair's segments
  const shown = g ? entry : segmentOf(hide ? hide.entry : entry, s.segment, mt.segment_b_start);
  // learned sink logits: the sink slot column (slot.ts); hiding sinks removes it as well
  const slotRun = mt.sink_slot === true;
  const slot = entry.slot ?? null;
  const shownSlot = hide ? null : (shown.slot ?? null);
  const labels = labelsFor(i.labels, s.tokens, entry.T);
  const qt = s.queries;
  const queryLabels = qt
    ? i.queryLabels?.length === qt.length
      ? i.queryLabels
      : qt.map((t) => displayToken(t))
    : null;
  const what = whatText({
    ...{ layer, head, weighting, hidden: hide !== null, slotRun, segment: seg },
    withSlot: shownSlot !== null,
  });
  const pruned = !g && (view === "arcs" || focus >= 0) ? prunedOf(shown) : null;
  const pooledText = g ? poolText(g.rows, g.cols, g.pool) : "";
  const region = qt ? { q0: 0, q1: qt.length, k0: 0, k1: entry.T } : i.zoom;
  const zoomed =
    !qt && view === "matrix" && !isFull(region, entry.T)
      ? ` · zoom: ${regionText(region, entry.T)}`
      : "";
  const P = mt.prompt_len ?? 0; // a generated run: its prompt boundary is marked
  const figure: Scene["figure"] = {
    ...{ view, data: shown.data, grid: g, T: entry.T, causal: mt.causal, labels, queryLabels },
    ...{ pruned, sinks: mask, focus, selected: s.selected, hover: hoverCell, region },
    ...{ band: i.band, what, zoomed, pooledText, topP: TOP_P },
    generated: P > 0 && P < entry.T ? P : 0,
    slot: shownSlot
      ? {
          ...{ values: shownSlot.values, rows: g ? g.rows : null, sink: slotIsSink(slot, eps) },
          hover: hoverCell && hoverCell[1] === entry.T ? hoverCell[0] : -1,
          alpha: shownSlot.alpha,
        }
      : null,
  };
  const share = sinkShare({
    ...{ data: entry.data, T: entry.T, alpha, mask, causal: mt.causal, pooled: g !== null },
    ...{ Tq: qt ? qt.length : null, slot, eps },
  });
  const hidden = hide
    ? { emptyRows: hide.hidden.emptyRows, removed: hide.hidden.removed + (slot?.alpha ?? 0) }
    : null;
  const { n_heads: nHeads, n_layers: nLayers, last_hidden: lastHidden = "" } = mt;
  return {
    figure,
    aria: `${view === "arcs" ? "Attention arcs" : "Attention matrix"}, ${what}${zoomed}`,
    caption: {
      matrix: view === "matrix" && !qt,
      T: entry.T,
      quant: quantNote(entry),
      pooled: pooledText,
    },
    strip: { mask, selected: qt ? -1 : s.selected },
    norms: { stats: entry.stats, tokens: s.tokens, layer, head, nHeads, nLayers, lastHidden },
    grid: { eps, layer, head },
    readout: {
      ...{ tokens: s.tokens, alpha, causal: mt.causal, eps, share, view, pruned, topP: TOP_P },
      ...{ focus, hoverCell, data: shown.data, T: entry.T, queryTokens: qt, grid: g, hidden },
      slot: slotRun ? { slot, weighting } : null,
    },
    painted: `${entry.key}:${view}${hide ? ":hidden" : ""}${seg ? `:${s.segment}` : ""}`,
  };
}

/** Where the figure's token columns are (the norms strip aligns its bars to them). */
export function columnsOf(
  hit: { arcs: ArcsHit | null; matrix: MatrixHit | null },
  region: Region,
): Columns {
  if (hit.arcs) return { left: hit.arcs.left, step: hit.arcs.step };
  const step = hit.matrix ? hit.matrix.size / Math.max(1, region.k1 - region.k0) : 0;
  return { left: (hit.matrix?.x0 ?? 0) - region.k0 * step, step };
}
