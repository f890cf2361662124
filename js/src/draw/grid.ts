// Overview grid: one DOM cell per (layer, head) coloured by the sink score alpha[l,h,0]
// (sink_grid), a "mean" row (mean over heads, which equals the sink score of the mean head),
// cells with alpha > eps marked (sinks.ts aboveThreshold), the current cell outlined;
// clicking a cell picks layer and head.

import { rampAt, rgbCss } from "../scale";
import { aboveThreshold, alphaText } from "../sinks";
import type { Theme } from "./theme";

export class OverviewGrid {
  readonly el: HTMLDivElement;
  private cells: HTMLElement[] = [];
  private scores: number[] = [];
  private current: HTMLElement | null = null;
  private stops = "";
  private eps = Number.NaN;

  constructor(doc: Document, onPick: (layer: number, head: number) => void) {
    this.el = doc.createElement("div");
    this.el.className = "bosw-grid";
    this.el.dataset.testid = "bosw-grid";
    this.el.setAttribute("role", "grid");
    this.el.addEventListener("click", (e) => {
      const t = (e.target as HTMLElement | null)?.closest?.("[data-layer]");
      if (t instanceof HTMLElement) onPick(Number(t.dataset.layer), Number(t.dataset.head));
    });
  }

  /** Rebuild for a new [L][H] score grid of a T-token run (every query sees position 0). */
  setScores(grid: number[][], nLayers: number, nHeads: number, T: number): void {
    const doc = this.el.ownerDocument;
    const L = Math.min(nLayers, grid.length);
    this.el.style.gridTemplateColumns = `3.2em repeat(${L}, minmax(7px, 22px))`;
    const kids: HTMLElement[] = [];
    const label = (text: string, cls: string) => {
      const d = doc.createElement("div");
      d.className = cls;
      d.textContent = text;
      kids.push(d);
    };
    label("layer", "bosw-rowlabel");
    const every = L > 40 ? 10 : L > 16 ? 5 : 1;
    for (let l = 0; l < L; l++) label(l % every === 0 ? String(l) : "", "bosw-collabel");
    this.cells = [];
    this.scores = [];
    for (let h = -1; h < nHeads; h++) {
      label(h < 0 ? "mean" : `h${h}`, "bosw-rowlabel");
      for (let l = 0; l < L; l++) {
        const row = grid[l] ?? [];
        const s =
          h < 0 ? row.reduce((a, b) => a + b, 0) / Math.max(1, row.length) : (row[h] ?? Number.NaN);
        const cell = doc.createElement("div");
        cell.className = "bosw-cell";
        cell.dataset.testid = h < 0 ? "bosw-cell-mean" : "bosw-cell";
        cell.dataset.layer = String(l);
        cell.dataset.head = String(h);
        cell.setAttribute("role", "gridcell");
        const score = Number.isFinite(s) ? alphaText(s, 0, T, false) : "α = n/a";
        cell.title = `layer ${l}, ${h < 0 ? "mean of heads" : `head ${h}`}: key #0 ${score}`;
        kids.push(cell);
        this.cells.push(cell);
        this.scores.push(s);
      }
    }
    this.el.replaceChildren(...kids);
    this.current = null;
    this.stops = "";
    this.eps = Number.NaN;
  }

  /** Colour, mark and outline the cells for the current theme, eps and (layer, head). */
  update(theme: Theme, eps: number, layer: number, head: number): void {
    const stopsKey = theme.stops.join(";");
    if (stopsKey !== this.stops) {
      this.cells.forEach((cell, i) => {
        const s = this.scores[i];
        cell.style.background = Number.isFinite(s) ? rgbCss(rampAt(theme.stops, s)) : "transparent";
      });
      this.stops = stopsKey;
    }
    if (eps !== this.eps) {
      this.cells.forEach((cell, i) => {
        cell.classList.toggle("marked", aboveThreshold(this.scores[i], eps));
      });
      this.eps = eps;
    }
    const cur =
      this.cells.find(
        (c) => c.dataset.layer === String(layer) && c.dataset.head === String(head),
      ) ?? null;
    if (cur !== this.current) {
      this.current?.classList.remove("current");
      cur?.classList.add("current");
      this.current = cur;
    }
  }
}
