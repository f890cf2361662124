// Cross-attention view: paints the arcs (two token rows) or the rectangular matrix of one
// [Tq, Tk] slice with its title, so that the entry's wiring (index.ts) takes one call.

import type { Pruned } from "../prune";
import type { ArcsHit } from "./arcs";
import { drawCrossArcs } from "./crossarcs";
import { type CrossMatrixHit, CrossMatrixPainter } from "./crossmatrix";
import type { Theme } from "./theme";

export interface CrossViewInput {
  view: "arcs" | "matrix";
  /** [Tq, Tk] row-major, as drawn (sinks hidden or not) */
  data: Float32Array;
  /** top-p arcs of `data` (needed for the arcs view) */
  pruned: Pruned | null;
  queryLabels: string[];
  keyLabels: string[];
  sinks: ArrayLike<number>;
  focus: number;
  selected: number;
  hover: [number, number] | null;
  /** what the slice is: "layer 0, mean of heads, raw", ... */
  what: string;
  topP: number;
  theme: Theme;
  width: number;
}

export interface CrossViewHit {
  arcs: ArcsHit | null;
  matrix: CrossMatrixHit | null;
  /** source cells per drawn pixel (matrix) */
  block: number;
}

export class CrossView {
  private readonly painter = new CrossMatrixPainter();

  draw(canvas: HTMLCanvasElement, a: CrossViewInput): CrossViewHit {
    const common = { queryLabels: a.queryLabels, sinks: a.sinks, selected: a.selected };
    if (a.view === "arcs" && a.pruned) {
      const title = `Cross-attention arcs (decoder query → encoder key) · ${a.what} · top-p ${a.topP}`;
      const arcs = drawCrossArcs(canvas, {
        ...common,
        keyLabels: a.keyLabels,
        pruned: a.pruned,
        focus: a.focus,
        title,
        theme: a.theme,
        width: a.width,
      });
      return { arcs, matrix: null, block: 1 };
    }
    const matrix = this.painter.draw(canvas, {
      ...common,
      data: a.data,
      keyLabels: a.keyLabels,
      hover: a.hover,
      title: `Cross-attention matrix A[decoder q, encoder k] · ${a.what}`,
      theme: a.theme,
      width: a.width,
    });
    return { arcs: null, matrix, block: matrix.block };
  }
}
