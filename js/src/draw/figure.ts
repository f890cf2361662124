// Figure dispatcher: draws one slice as cross-attention (two token rows or a rectangle),
// self-attention arcs, or the matrix, marks a generated run's prompt boundary, and publishes
// where things are (data-matrix, data-slot, data-boundary) for tests. Returns the hit-test
// geometry the view keeps. index.ts decides what to draw; this module only draws it.

import { maxWidth } from "../bins";
import type { Pruned } from "../prune";
import type { Region } from "../zoom";
import { type ArcsHit, drawArcs } from "./arcs";
import { arcsBoundary, matrixBoundary } from "./boundary";
import type { CrossMatrixHit } from "./crossmatrix";
import type { CrossView } from "./crossview";
import type { MatrixHit, MatrixPainter } from "./matrix";
import type { SlotColumn } from "./slot";
import type { Theme } from "./theme";

export interface FigureInput {
  view: "arcs" | "matrix";
  /** the slice as drawn (sinks hidden or not); [Tq, T] for cross-attention */
  data: Float32Array;
  grid: { rows: Int32Array; cols: Int32Array; pool: string } | null;
  T: number;
  causal: boolean;
  labels: string[];
  /** cross-attention: the decoder tokens' display strings (rows), else null */
  queryLabels: string[] | null;
  pruned: Pruned | null;
  sinks: Uint8Array;
  focus: number;
  selected: number;
  hover: [number, number] | null;
  region: Region;
  band: [[number, number], [number, number]] | null;
  /** "layer 3, mean of heads, raw, ..." */
  what: string;
  /** " · zoomed to ..." or "" */
  zoomed: string;
  /** the pooling caption of a pooled region, "" when exact */
  pooledText: string;
  topP: number;
  /** learned sink logits: the slot's column (matrix) or target (arcs), null without */
  slot: SlotColumn | null;
  /** first generated position (0: nothing generated) */
  generated: number;
  theme: Theme;
  width: number;
}

export interface FigureHit {
  arcs: ArcsHit | null;
  matrix: MatrixHit | null;
  cross: CrossMatrixHit | null;
  /** source cells per drawn pixel block */
  block: number;
}

export function drawFigure(
  canvas: HTMLCanvasElement,
  painters: { matrix: MatrixPainter; cross: CrossView },
  f: FigureInput,
): FigureHit {
  delete canvas.dataset.boundary;
  let hit: FigureHit;
  if (f.queryLabels && !f.grid) {
    const c = painters.cross.draw(canvas, {
      view: f.view,
      data: f.data,
      pruned: f.pruned,
      queryLabels: f.queryLabels,
      keyLabels: f.labels,
      what: f.what,
      sinks: f.sinks,
      focus: f.focus,
      selected: f.selected,
      hover: f.hover,
      topP: f.topP,
      theme: f.theme,
      width: f.width,
    });
    hit = { arcs: c.arcs, matrix: null, cross: c.matrix, block: c.block };
    const m = c.matrix; // where the heatmap is, "x0 y0 w h"
    if (m) canvas.dataset.matrix = `${m.x0} ${m.y0} ${m.w} ${m.h}`;
  } else if (f.view === "arcs" && f.pruned) {
    const arcs = drawArcs(canvas, {
      T: f.T,
      causal: f.causal,
      labels: f.labels,
      pruned: f.pruned,
      sinks: f.sinks,
      focus: f.focus,
      selected: f.selected,
      title: `Attention arcs (query → key) · ${f.what} · top-p ${f.topP}`,
      theme: f.theme,
      width: f.width,
      slot: f.slot ? { sink: f.slot.sink } : null,
    });
    if (f.generated > 0) {
      const height = Number.parseFloat(canvas.style.height) || canvas.clientHeight;
      arcsBoundary(canvas, { at: f.generated, theme: f.theme }, arcs.left, arcs.step, height);
    }
    hit = { arcs, matrix: null, cross: null, block: 1 };
  } else {
    const kind = f.pooledText ? ` (${f.grid?.pool}-pooled)` : "";
    const matrix = painters.matrix.draw(canvas, {
      data: f.data,
      grid: f.grid,
      T: f.T,
      causal: f.causal,
      labels: f.labels,
      sinks: f.sinks,
      selected: f.selected,
      hover: f.hover,
      region: f.region,
      band: f.band,
      title: `Attention matrix A[q, k]${kind} · ${f.what}${f.zoomed}`,
      theme: f.theme,
      width: f.width,
      slot: f.slot,
    });
    if (f.generated > 0) matrixBoundary(canvas, { at: f.generated, theme: f.theme }, matrix);
    const R = f.region;
    let block = Math.ceil(Math.max(R.q1 - R.q0, R.k1 - R.k0) / Math.max(1, matrix.n));
    if (f.grid) block = Math.max(block, maxWidth(f.grid.rows), maxWidth(f.grid.cols));
    canvas.dataset.matrix = `${matrix.x0} ${matrix.y0} ${matrix.size}`;
    hit = { arcs: null, matrix, cross: null, block };
  }
  // where the sink slot is drawn: "x y" of its arc target, or its column's x
  const slotAt = hit.arcs?.slot ?? (hit.matrix?.slotX != null ? [hit.matrix.slotX] : null);
  canvas.dataset.slot = slotAt ? slotAt.join(" ") : "";
  return hit;
}
