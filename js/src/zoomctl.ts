// Zoom control of the matrix view: holds the visible region and the drag in progress, turns
// canvas drags and Ctrl/Alt + wheel steps into regions (zoom.ts), and writes the caption under
// the figure (visible range, quantisation of the values) with its reset button. No drawing.

import { cellAt, cellNear, type MatrixHit } from "./draw/matrix";
import { fullRegion, isFull, type Region, regionFromDrag, regionText, zoomAt } from "./zoom";

export interface CaptionParts {
  figCaption: HTMLElement;
  figText: HTMLElement;
  zoomReset: HTMLButtonElement;
}

export class ZoomControl {
  /** visible part of the matrix; null = all of it */
  private zoom: Region | null = null;
  /** cells at the corners of a drag in progress */
  band: [[number, number], [number, number]] | null = null;
  private readonly onReset = () => this.set(null, 0);

  /** `repaint` redraws the current slice (after a zoom change or while dragging). */
  constructor(
    private readonly parts: CaptionParts,
    private readonly repaint: () => void,
  ) {
    parts.zoomReset.addEventListener("click", this.onReset);
  }

  /** The region to draw for T tokens (a zoom made for another T is dropped). */
  region(T: number): Region {
    if (this.zoom && (this.zoom.q1 > T || this.zoom.k1 > T)) this.zoom = null;
    return this.zoom ?? fullRegion(T);
  }

  /**
   * Caption under the figure: the visible range (matrix view), how the cells were pooled
   * (pooled runs: "max-pooled blocks of 4 × 4 tokens") and the quantisation note.
   */
  caption(matrix: boolean, T: number, quant: string, pooled = ""): void {
    const parts = matrix
      ? [`Showing ${regionText(this.region(T), T)}; drag to zoom, Ctrl + wheel to zoom in or out`]
      : [];
    if (pooled && matrix) parts.push(pooled);
    if (quant) parts.push(quant);
    this.parts.figText.textContent = parts.join(" · ");
    this.parts.figCaption.hidden = parts.length === 0;
    this.parts.zoomReset.hidden = !matrix;
    this.parts.zoomReset.disabled = !this.zoom;
  }

  /** A canvas drag (see interact.ts); false when it does not start on the matrix. */
  drag(hit: MatrixHit | null, from: [number, number], to: [number, number], done: boolean) {
    if (!hit || (!this.band && !cellAt(hit, ...from))) return false;
    const a = cellNear(hit, ...from);
    const b = cellNear(hit, ...to);
    this.band = done ? null : [a, b];
    if (done) this.set(regionFromDrag(a, b, hit.T), hit.T);
    else this.repaint();
    return true;
  }

  /** A Ctrl/Alt + wheel step over the matrix: zoom in (up) or out (down) around the cell. */
  wheel(hit: MatrixHit | null, x: number, y: number, deltaY: number): boolean {
    const cell = hit ? cellAt(hit, x, y) : null;
    if (!hit || !cell) return false;
    const next = zoomAt(this.region(hit.T), hit.T, cell[0], cell[1], deltaY < 0 ? 0.8 : 1.25);
    this.set(next, hit.T);
    return true;
  }

  /** Forget the zoom (new tokens). */
  clear(): void {
    this.zoom = null;
    this.band = null;
  }

  dispose(): void {
    this.parts.zoomReset.removeEventListener("click", this.onReset);
  }

  private set(r: Region | null, T: number): void {
    this.zoom = r && !isFull(r, T) ? r : null;
    this.repaint();
  }
}
