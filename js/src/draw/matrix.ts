// Matrix painter: the visible region of the [T, T] slice (all of it, or a zoomed block; for
// pooled runs, cells on bin edges) as a heatmap (rows = queries, columns = keys) through
// ImageData, aggregated by max per pixel block when the region exceeds the pixels; sink
// columns marked above, selection outlined, a rubber band while dragging, axis labels
// (thinned) and a colour bar.

import { aggregateGrid, aggregateRegion, blockEdges } from "../aggregate";
import { labelDrop, niceEvery, stripLayout, truncate } from "../layout";
import { mix, rgbCss } from "../scale";
import { fullRegion, type Region } from "../zoom";
import { drawSlotColumn, SLOT_GAP, SLOT_RESERVE, type SlotColumn } from "./slot";
import { drawHeatmapAxes, fitCanvas, maxLabelWidth, pixelRatio, type Theme } from "./theme";

export interface MatrixInput {
  /** [T, T] row-major; with `grid`, [rows.length - 1, cols.length - 1] pooled cells */
  data: Float32Array;
  /** bin edges (absolute positions) of a pooled slice's cells; covers the region drawn */
  grid?: { rows: Int32Array; cols: Int32Array } | null;
  T: number;
  causal: boolean;
  labels: string[];
  sinks: ArrayLike<number>;
  selected: number;
  /** hovered cell [q, k] or null */
  hover: [number, number] | null;
  /** visible queries and keys; the whole matrix when omitted */
  region?: Region;
  /** cells [q, k] at the two corners of a drag in progress, drawn as a dashed box */
  band?: [[number, number], [number, number]] | null;
  title: string;
  theme: Theme;
  width: number;
  /** learned sink logits: the sink slot's column, drawn right of the keys (draw/slot.ts) */
  slot?: SlotColumn | null;
}

export interface MatrixHit {
  x0: number;
  y0: number;
  size: number;
  T: number;
  region: Region;
  /** pixels (device) per side of the image: region cells per pixel = span / n */
  n: number;
  /** x of the sink slot's column (CSS px), when one is drawn */
  slotX?: number | null;
}

/** Largest side of the heatmap in CSS pixels. */
export const MAX_SIDE = 620;

/** Colour scale exponent: the image loop below hard-codes the square root. */
export const GAMMA = 0.5;
const TITLE_H = 24;
const LINE_H = 13;

/** Holds the offscreen image so hover and selection repaints skip the pixel loop. */
export class MatrixPainter {
  private off: HTMLCanvasElement | null = null;
  private key: unknown[] = [];

  private image(doc: Document, a: MatrixInput, R: Region, n: number): HTMLCanvasElement {
    const off = this.off ?? doc.createElement("canvas");
    this.off = off;
    const nr = Math.min(n, R.q1 - R.q0);
    const nc = Math.min(n, R.k1 - R.k0);
    const key = [a.data, nr, nc, a.theme.lut, R.q0, R.q1, R.k0, R.k1];
    if (key.every((v, i) => v === this.key[i])) return off;
    const vals = a.grid
      ? aggregateGrid(a.data, a.grid.rows, a.grid.cols, R, nr, nc)
      : aggregateRegion(a.data, a.T, R, nr, nc);
    const re = blockEdges(R.q1 - R.q0, nr);
    const ce = blockEdges(R.k1 - R.k0, nc);
    off.width = nc;
    off.height = nr;
    const ctx = off.getContext("2d");
    if (!ctx) throw new Error("This browser gave no 2D canvas context; the widget cannot draw.");
    const img = ctx.createImageData(nc, nr);
    const px = img.data;
    const lut = a.theme.lut;
    const masked = mix(a.theme.bg, a.theme.border, 0.3);
    for (let r = 0; r < nr; r++) {
      const lastQ = R.q0 + re[r + 1] - 1;
      for (let c = 0; c < nc; c++) {
        const o = (r * nc + c) * 4;
        const firstK = R.k0 + ce[c];
        if (a.causal && firstK > lastQ) {
          px[o] = masked[0];
          px[o + 1] = masked[1];
          px[o + 2] = masked[2];
        } else {
          const v = vals[r * nc + c];
          const li = (v <= 0 ? 0 : v >= 1 ? 255 : (Math.sqrt(v) * 255 + 0.5) | 0) * 4;
          px[o] = lut[li];
          px[o + 1] = lut[li + 1];
          px[o + 2] = lut[li + 2];
        }
        px[o + 3] = 255;
      }
    }
    ctx.putImageData(img, 0, 0);
    this.key = key;
    return off;
  }

  draw(canvas: HTMLCanvasElement, a: MatrixInput): MatrixHit {
    const th = a.theme;
    const { T } = a;
    const R = a.region ?? fullRegion(T);
    const nq = Math.max(1, R.q1 - R.q0);
    const nk = Math.max(1, R.k1 - R.k0);
    const span = Math.max(nq, nk);
    const probe = canvas.getContext("2d");
    if (!probe) throw new Error("This browser gave no 2D canvas context; the widget cannot draw.");
    const cut = (s: string) => truncate(s, 12);
    // token labels only fit when cells are >= 11 px, i.e. for a few tokens: measure only then
    const maybe = MAX_SIDE / span >= 11;
    const shown = maybe
      ? [...a.labels.slice(R.q0, R.q1), ...a.labels.slice(R.k0, R.k1)]
      : ([] as string[]);
    const maxW = maybe ? Math.min(maxLabelWidth(probe, shown, `11px ${th.mono}`, cut), 90) : 40;
    const rm = 70 + (a.slot ? SLOT_RESERVE : 0);
    let lm = maxW + 26;
    let size = Math.max(60, Math.min(a.width - lm - rm, MAX_SIDE));
    const labels = maybe && size / span >= 11;
    if (!labels) {
      lm = 56;
      size = Math.max(60, Math.min(a.width - lm - rm, MAX_SIDE));
    }
    const x0 = lm;
    const y0 = TITLE_H + 16;
    const keyStrip = stripLayout(nk, x0, x0 + size, maxW, LINE_H);
    const drop = labels ? labelDrop(maxW, LINE_H, keyStrip.angle) + 10 : 22;
    const height = y0 + size + drop + 22;
    const ctx = fitCanvas(canvas, a.width, height);
    const n = Math.max(1, Math.min(span, Math.floor(size * pixelRatio(canvas))));
    const img = this.image(canvas.ownerDocument, a, R, n);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(img, x0, y0, size, size);
    ctx.strokeStyle = rgbCss(th.border);
    ctx.lineWidth = 1;
    ctx.strokeRect(x0 - 1.5, y0 - 1.5, size + 3, size + 3); // outside the cells: column 0 matters
    const cw = size / nk; // cell width (keys) and height (queries)
    const ch = size / nq;
    const X = (k: number) => x0 + (k - R.k0) * cw;
    const Y = (q: number) => y0 + (q - R.q0) * ch;
    const inQ = (q: number) => q >= R.q0 && q < R.q1;
    const inK = (k: number) => k >= R.k0 && k < R.k1;

    // title, axis names
    const axes = { title: a.title, width: a.width, keys: "key →", queries: "← query" };
    drawHeatmapAxes(ctx, th, axes, { x0, y0, w: size, h: size, drop });
    ctx.fillStyle = rgbCss(th.sink);
    const slotX = a.slot ? x0 + size + SLOT_GAP : null;
    ctx.fillText("■ sink key (α > ε)", x0 + size + 6 + (a.slot ? SLOT_RESERVE : 0), y0 - 8 - 8);

    // sink columns
    ctx.fillStyle = rgbCss(th.sink);
    for (let k = R.k0; k < R.k1; k++) {
      if (!a.sinks[k]) continue;
      const w = Math.max(cw, 4);
      ctx.fillRect(X(k + 0.5) - w / 2, y0 - 10, w, 6);
    }

    // selection, hover and the rubber band of a drag
    const sel = a.selected;
    ctx.strokeStyle = rgbCss(th.accent);
    ctx.lineWidth = 1.5;
    if (sel >= 0 && inQ(sel)) ctx.strokeRect(x0, Y(sel), size, Math.max(ch, 1.5));
    ctx.setLineDash([3, 3]);
    if (sel >= 0 && inK(sel)) ctx.strokeRect(X(sel), y0, Math.max(cw, 1.5), size);
    ctx.setLineDash([]);
    if (a.hover && inQ(a.hover[0]) && inK(a.hover[1])) {
      const [q, k] = a.hover;
      ctx.strokeStyle = rgbCss(th.fg);
      ctx.strokeRect(X(k) - 1, Y(q) - 1, Math.max(cw, 1) + 2, Math.max(ch, 1) + 2);
    }
    if (a.band) {
      const [[qa, ka], [qb, kb]] = a.band;
      const [qlo, klo] = [Math.min(qa, qb), Math.min(ka, kb)];
      ctx.strokeStyle = rgbCss(th.accent);
      ctx.setLineDash([4, 3]);
      ctx.strokeRect(X(klo), Y(qlo), (Math.abs(ka - kb) + 1) * cw, (Math.abs(qa - qb) + 1) * ch);
      ctx.setLineDash([]);
    }

    // axis labels: tokens when cells are tall enough, else round indices
    ctx.fillStyle = rgbCss(th.fg);
    if (labels) {
      ctx.font = `11px ${th.mono}`;
      for (let q = R.q0; q < R.q1; q++) {
        ctx.textAlign = "right";
        ctx.textBaseline = "middle";
        ctx.fillStyle = rgbCss(a.sinks[q] ? th.sink : q === sel ? th.accent : th.fg);
        ctx.fillText(cut(a.labels[q]), x0 - 5, Y(q + 0.5));
      }
      for (let k = R.k0; k < R.k1; k++) {
        if ((k - R.k0) % keyStrip.every !== 0) continue;
        ctx.fillStyle = rgbCss(a.sinks[k] ? th.sink : k === sel ? th.accent : th.fg);
        ctx.save();
        ctx.translate(keyStrip.xs[k - R.k0], y0 + size + 5);
        ctx.rotate(keyStrip.angle);
        ctx.textAlign = keyStrip.angle === 0 ? "center" : "right";
        ctx.textBaseline = keyStrip.angle === 0 ? "top" : "middle";
        ctx.fillText(cut(a.labels[k]), 0, 0);
        ctx.restore();
      }
    } else {
      ctx.font = `10px ${th.font}`;
      ctx.fillStyle = rgbCss(th.muted);
      const ticks = (lo: number, hi: number, draw: (i: number) => void) => {
        const every = niceEvery(Math.ceil((hi - lo) / 8));
        for (let i = Math.ceil(lo / every) * every; i < hi; i += every) draw(i);
      };
      ctx.textAlign = "right";
      ctx.textBaseline = "middle";
      ticks(R.q0, R.q1, (q) => ctx.fillText(String(q), x0 - 5, Y(q + 0.5)));
      ctx.textAlign = "center";
      ctx.textBaseline = "top";
      ticks(R.k0, R.k1, (k) => ctx.fillText(String(k), X(k + 0.5), y0 + size + 5));
    }
    if (a.slot && slotX !== null) drawSlotColumn(ctx, th, a.slot, slotX, y0, size, R);
    this.colorBar(ctx, th, x0 + size + 16 + (a.slot ? SLOT_RESERVE : 0), y0, size);
    return { x0, y0, size, T, region: R, n, slotX };
  }

  private colorBar(ctx: CanvasRenderingContext2D, th: Theme, x: number, y: number, h: number) {
    const steps = Math.max(2, Math.round(h));
    for (let i = 0; i < steps; i++) {
      const t = 1 - i / (steps - 1);
      const li = Math.round(t * 255) * 4;
      ctx.fillStyle = `rgb(${th.lut[li]}, ${th.lut[li + 1]}, ${th.lut[li + 2]})`;
      ctx.fillRect(x, y + (i * h) / steps, 10, h / steps + 1);
    }
    ctx.strokeStyle = rgbCss(th.border);
    ctx.strokeRect(x - 0.5, y - 0.5, 11, h + 1);
    ctx.font = `10px ${th.font}`;
    ctx.textAlign = "left";
    ctx.textBaseline = "middle";
    ctx.fillStyle = rgbCss(th.muted);
    for (const v of [0, 0.05, 0.25, 0.5, 1]) {
      const yy = y + h * (1 - v ** GAMMA);
      ctx.fillRect(x + 10, yy, 3, 1);
      ctx.fillText(String(v), x + 15, yy);
    }
    ctx.textAlign = "left";
    ctx.fillText("√ scale", x - 2, y + h + 12);
  }
}

/** Map a pointer position to [query, key] in the visible region, or null outside it. */
export function cellAt(hit: MatrixHit, x: number, y: number): [number, number] | null {
  const R = hit.region;
  const k = R.k0 + Math.floor(((x - hit.x0) / hit.size) * (R.k1 - R.k0));
  const q = R.q0 + Math.floor(((y - hit.y0) / hit.size) * (R.q1 - R.q0));
  return q >= R.q0 && q < R.q1 && k >= R.k0 && k < R.k1 ? [q, k] : null;
}

/** Like cellAt, but a point outside the matrix maps to the nearest cell (for drags). */
export function cellNear(hit: MatrixHit, x: number, y: number): [number, number] {
  const R = hit.region;
  const clamp = (v: number, lo: number, hi: number) => Math.max(lo, Math.min(hi - 1, v));
  const k = R.k0 + Math.floor(((x - hit.x0) / hit.size) * (R.k1 - R.k0));
  const q = R.q0 + Math.floor(((y - hit.y0) / hit.size) * (R.q1 - R.q0));
  return [clamp(q, R.q0, R.q1), clamp(k, R.k0, R.k1)];
}
