// Cross-attention matrix painter: the [Tq, Tk] slice (decoder queries = rows, encoder keys =
// columns) as a rectangular heatmap with square cells where they fit (crossMatrixLayout, pure),
// max-aggregated per pixel block when the slice has more cells than pixels; sink key columns
// marked above, the selected decoder query outlined, the hovered cell framed, decoder and
// encoder token labels (thinned), and the colour bar. Token text only via fillText.

import { aggregateRegion } from "../aggregate";
import { niceEvery, stripLayout, truncate } from "../layout";
import { rgbCss } from "../scale";
import { GAMMA, MAX_SIDE } from "./matrix";
import { drawHeatmapAxes, fitCanvas, maxLabelWidth, pixelRatio, type Theme } from "./theme";

export interface CrossMatrixInput {
  /** [Tq, Tk] row-major */
  data: Float32Array;
  queryLabels: string[];
  keyLabels: string[];
  sinks: ArrayLike<number>;
  selected: number;
  hover: [number, number] | null;
  title: string;
  theme: Theme;
  width: number;
}

/** Where the heatmap is: its corner, its size in CSS px, and the slice's shape. */
export interface CrossMatrixHit {
  x0: number;
  y0: number;
  w: number;
  h: number;
  Tq: number;
  Tk: number;
  /** source cells per drawn pixel along the coarser axis (1 = every cell drawn) */
  block: number;
}

const TITLE_H = 24;
const LINE_H = 13;
const MIN_CELL = 6; // a side shrunk below this many px per token is stretched back

/**
 * Heatmap size for Tq x Tk cells in `avail` px: square cells across the longer side, the other
 * side in proportion but at least MIN_CELL px per token (never longer than `avail`).
 */
export function crossMatrixLayout(Tq: number, Tk: number, avail: number) {
  const cell = avail / Math.max(1, Tq, Tk);
  const side = (n: number) => Math.min(avail, Math.max(n * cell, n * MIN_CELL));
  return { w: side(Tk), h: side(Tq) };
}

/** The [query, key] cell under a pointer, or null outside the heatmap. */
export function crossCellAt(hit: CrossMatrixHit, x: number, y: number): [number, number] | null {
  const k = Math.floor(((x - hit.x0) / hit.w) * hit.Tk);
  const q = Math.floor(((y - hit.y0) / hit.h) * hit.Tq);
  return q >= 0 && q < hit.Tq && k >= 0 && k < hit.Tk ? [q, k] : null;
}

export class CrossMatrixPainter {
  private off: HTMLCanvasElement | null = null;
  private key: unknown[] = [];

  private image(doc: Document, a: CrossMatrixInput, nr: number, nc: number) {
    const off = this.off ?? doc.createElement("canvas");
    this.off = off;
    const key = [a.data, nr, nc, a.theme.lut];
    if (key.every((v, i) => v === this.key[i])) return off;
    const Tq = a.queryLabels.length;
    const Tk = a.keyLabels.length;
    const vals = aggregateRegion(a.data, Tk, { q0: 0, q1: Tq, k0: 0, k1: Tk }, nr, nc);
    off.width = nc;
    off.height = nr;
    const ctx = off.getContext("2d");
    if (!ctx) throw new Error("This browser gave no 2D canvas context; the widget cannot draw.");
    const img = ctx.createImageData(nc, nr);
    const lut = a.theme.lut;
    for (let i = 0; i < nr * nc; i++) {
      const v = vals[i];
      const li = (v <= 0 ? 0 : v >= 1 ? 255 : (Math.sqrt(v) * 255 + 0.5) | 0) * 4; // √ scale
      img.data.set([lut[li], lut[li + 1], lut[li + 2], 255], i * 4);
    }
    ctx.putImageData(img, 0, 0);
    this.key = key;
    return off;
  }

  draw(canvas: HTMLCanvasElement, a: CrossMatrixInput): CrossMatrixHit {
    const th = a.theme;
    const Tq = a.queryLabels.length;
    const Tk = a.keyLabels.length;
    const probe = canvas.getContext("2d");
    if (!probe) throw new Error("This browser gave no 2D canvas context; the widget cannot draw.");
    const cut = (s: string) => truncate(s, 12);
    const font = `11px ${th.mono}`;
    const rowW = Math.min(maxLabelWidth(probe, a.queryLabels, font, cut), 90);
    const colW = Math.min(maxLabelWidth(probe, a.keyLabels, font, cut), 90);
    const x0 = rowW + 26;
    const y0 = TITLE_H + 16;
    const avail = Math.max(60, Math.min(a.width - x0 - 70, MAX_SIDE));
    const { w, h } = crossMatrixLayout(Tq, Tk, avail);
    const rowLabels = h / Math.max(1, Tq) >= 11;
    const keys = stripLayout(Tk, x0, x0 + w, colW, LINE_H);
    const keyLabels = w / Math.max(1, Tk) >= 4;
    const drop = keyLabels ? Math.abs(Math.sin(keys.angle)) * colW + LINE_H + 10 : 22;
    const ctx = fitCanvas(canvas, a.width, Math.max(y0 + h, y0 + 120) + drop + 22);
    const ratio = pixelRatio(canvas);
    const nr = Math.max(1, Math.min(Tq, Math.floor(h * ratio)));
    const nc = Math.max(1, Math.min(Tk, Math.floor(w * ratio)));
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(this.image(canvas.ownerDocument, a, nr, nc), x0, y0, w, h);
    ctx.strokeStyle = rgbCss(th.border);
    ctx.lineWidth = 1;
    ctx.strokeRect(x0 - 1.5, y0 - 1.5, w + 3, h + 3);
    const cw = w / Math.max(1, Tk);
    const ch = h / Math.max(1, Tq);

    const axes = {
      title: a.title,
      width: a.width,
      keys: "encoder key →",
      queries: "← decoder query",
    };
    drawHeatmapAxes(ctx, th, axes, { x0, y0, w, h, drop });
    ctx.fillStyle = rgbCss(th.sink);
    ctx.fillText("■ sink key (α > ε)", x0 + w + 6, y0 - 16);
    for (let k = 0; k < Tk; k++) {
      if (!a.sinks[k]) continue;
      const sw = Math.max(cw, 4);
      ctx.fillRect(x0 + (k + 0.5) * cw - sw / 2, y0 - 10, sw, 6);
    }
    ctx.strokeStyle = rgbCss(th.accent);
    ctx.lineWidth = 1.5;
    if (a.selected >= 0 && a.selected < Tq) {
      ctx.strokeRect(x0, y0 + a.selected * ch, w, Math.max(ch, 1.5));
    }
    if (a.hover) {
      const [q, k] = a.hover;
      ctx.strokeStyle = rgbCss(th.fg);
      ctx.strokeRect(x0 + k * cw - 1, y0 + q * ch - 1, Math.max(cw, 1) + 2, Math.max(ch, 1) + 2);
    }

    // labels: decoder tokens on the rows, encoder tokens under the columns (thinned)
    ctx.font = font;
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    const every = rowLabels ? 1 : niceEvery(Math.ceil(LINE_H / Math.max(ch, 1e-3)));
    for (let q = 0; q < Tq; q += every) {
      ctx.fillStyle = rgbCss(q === a.selected ? th.accent : th.fg);
      const text = rowLabels ? cut(a.queryLabels[q]) : String(q);
      ctx.fillText(text, x0 - 5, y0 + (q + 0.5) * ch);
    }
    for (let k = 0; k < Tk; k++) {
      if (!keyLabels && k % niceEvery(Math.ceil(Tk / 8)) !== 0) continue;
      if (keyLabels && k % keys.every !== 0 && !a.sinks[k]) continue;
      ctx.fillStyle = rgbCss(a.sinks[k] ? th.sink : th.fg);
      ctx.save();
      ctx.translate(keys.xs[k], y0 + h + 5);
      ctx.rotate(keyLabels ? keys.angle : 0);
      ctx.textAlign = keyLabels && keys.angle !== 0 ? "right" : "center";
      ctx.textBaseline = keyLabels && keys.angle !== 0 ? "middle" : "top";
      ctx.fillText(keyLabels ? cut(a.keyLabels[k]) : String(k), 0, 0);
      ctx.restore();
    }
    this.colorBar(ctx, th, x0 + w + 16, y0, Math.max(h, 120));
    const block = Math.max(Math.ceil(Tq / nr), Math.ceil(Tk / nc));
    return { x0, y0, w, h, Tq, Tk, block };
  }

  private colorBar(ctx: CanvasRenderingContext2D, th: Theme, x: number, y: number, h: number) {
    const steps = Math.max(2, Math.round(h));
    for (let i = 0; i < steps; i++) {
      const li = Math.round((1 - i / (steps - 1)) * 255) * 4;
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
    ctx.fillText("√ scale", x - 2, y + h + 12);
  }
}
