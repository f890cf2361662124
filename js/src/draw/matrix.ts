// Matrix painter: the [T, T] slice as a heatmap (rows = queries, columns = keys) through
// ImageData, aggregated by max per pixel block when T exceeds the pixels; sink columns marked
// above, selection outlined, with axis labels (thinned) and a colour bar.

import { aggregate, blockEdges } from "../aggregate";
import { labelDrop, niceEvery, stripLayout, truncate } from "../layout";
import { mix, rgbCss } from "../scale";
import { fitCanvas, fitText, maxLabelWidth, pixelRatio, type Theme } from "./theme";

export interface MatrixInput {
  data: Float32Array;
  T: number;
  causal: boolean;
  labels: string[];
  sinks: ArrayLike<number>;
  selected: number;
  /** hovered cell [q, k] or null */
  hover: [number, number] | null;
  title: string;
  theme: Theme;
  width: number;
}

export interface MatrixHit {
  x0: number;
  y0: number;
  size: number;
  T: number;
}

/** Colour scale exponent: the image loop below hard-codes the square root. */
export const GAMMA = 0.5;
const TITLE_H = 24;
const LINE_H = 13;

/** Holds the offscreen image so hover and selection repaints skip the pixel loop. */
export class MatrixPainter {
  private off: HTMLCanvasElement | null = null;
  private key: [Float32Array | null, number, Uint8ClampedArray | null] = [null, 0, null];

  private image(doc: Document, a: MatrixInput, n: number): HTMLCanvasElement {
    const off = this.off ?? doc.createElement("canvas");
    this.off = off;
    const [kd, kn, kl] = this.key;
    if (kd === a.data && kn === n && kl === a.theme.lut) return off;
    const { T } = a;
    const vals = n < T ? aggregate(a.data, T, n, "max") : a.data;
    const edges = n < T ? blockEdges(T, n) : null;
    off.width = n;
    off.height = n;
    const ctx = off.getContext("2d");
    if (!ctx) throw new Error("This browser gave no 2D canvas context; the widget cannot draw.");
    const img = ctx.createImageData(n, n);
    const px = img.data;
    const lut = a.theme.lut;
    const masked = mix(a.theme.bg, a.theme.border, 0.3);
    for (let r = 0; r < n; r++) {
      const lastQ = edges ? edges[r + 1] - 1 : r;
      for (let c = 0; c < n; c++) {
        const o = (r * n + c) * 4;
        const firstK = edges ? edges[c] : c;
        if (a.causal && firstK > lastQ) {
          px[o] = masked[0];
          px[o + 1] = masked[1];
          px[o + 2] = masked[2];
        } else {
          const v = vals[r * n + c];
          const li = (v <= 0 ? 0 : v >= 1 ? 255 : (Math.sqrt(v) * 255 + 0.5) | 0) * 4;
          px[o] = lut[li];
          px[o + 1] = lut[li + 1];
          px[o + 2] = lut[li + 2];
        }
        px[o + 3] = 255;
      }
    }
    ctx.putImageData(img, 0, 0);
    this.key = [a.data, n, lut];
    return off;
  }

  draw(canvas: HTMLCanvasElement, a: MatrixInput): MatrixHit {
    const th = a.theme;
    const { T } = a;
    const probe = canvas.getContext("2d");
    if (!probe) throw new Error("This browser gave no 2D canvas context; the widget cannot draw.");
    const cut = (s: string) => truncate(s, 12);
    // token labels only fit when cells are >= 11 px, i.e. for small T: measure only then
    const maybe = 620 / Math.max(1, T) >= 11;
    const maxW = maybe ? Math.min(maxLabelWidth(probe, a.labels, `11px ${th.mono}`, cut), 90) : 40;
    const rm = 70;
    let lm = maxW + 26;
    let size = Math.max(60, Math.min(a.width - lm - rm, 620));
    const labels = maybe && size / Math.max(1, T) >= 11;
    if (!labels) {
      lm = 56;
      size = Math.max(60, Math.min(a.width - lm - rm, 620));
    }
    const x0 = lm;
    const y0 = TITLE_H + 16;
    const keyStrip = stripLayout(T, x0, x0 + size, maxW, LINE_H);
    const drop = labels ? labelDrop(maxW, LINE_H, keyStrip.angle) + 10 : 22;
    const height = y0 + size + drop + 22;
    const ctx = fitCanvas(canvas, a.width, height);
    const n = Math.max(1, Math.min(T, Math.floor(size * pixelRatio(canvas))));
    const img = this.image(canvas.ownerDocument, a, n);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(img, x0, y0, size, size);
    ctx.strokeStyle = rgbCss(th.border);
    ctx.lineWidth = 1;
    ctx.strokeRect(x0 - 1.5, y0 - 1.5, size + 3, size + 3); // outside the cells: column 0 matters
    const c = size / Math.max(1, T);

    // title, axis names
    ctx.textBaseline = "middle";
    ctx.textAlign = "left";
    ctx.font = `600 12px ${th.font}`;
    ctx.fillStyle = rgbCss(th.fg);
    ctx.fillText(fitText(ctx, a.title, a.width - 16), 8, 10);
    ctx.font = `11px ${th.font}`;
    ctx.fillStyle = rgbCss(th.muted);
    ctx.textAlign = "center";
    ctx.fillText("key →", x0 + size / 2, y0 + size + drop + 10);
    ctx.save();
    ctx.translate(9, y0 + size / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.fillText("← query", 0, 0);
    ctx.restore();
    ctx.textAlign = "left";
    ctx.fillStyle = rgbCss(th.sink);
    ctx.fillText("■ sink key (α ≥ ε)", x0 + size + 6, y0 - 8 - 8);

    // sink columns
    ctx.fillStyle = rgbCss(th.sink);
    for (let k = 0; k < T; k++) {
      if (!a.sinks[k]) continue;
      const w = Math.max(c, 4);
      ctx.fillRect(x0 + (k + 0.5) * c - w / 2, y0 - 10, w, 6);
    }

    // selection and hover
    if (a.selected >= 0 && a.selected < T) {
      ctx.strokeStyle = rgbCss(th.accent);
      ctx.lineWidth = 1.5;
      ctx.strokeRect(x0, y0 + a.selected * c, size, Math.max(c, 1.5));
      ctx.setLineDash([3, 3]);
      ctx.strokeRect(x0 + a.selected * c, y0, Math.max(c, 1.5), size);
      ctx.setLineDash([]);
    }
    if (a.hover) {
      const [q, k] = a.hover;
      ctx.strokeStyle = rgbCss(th.fg);
      ctx.lineWidth = 1.5;
      ctx.strokeRect(x0 + k * c - 1, y0 + q * c - 1, Math.max(c, 1) + 2, Math.max(c, 1) + 2);
    }

    // axis labels: tokens when cells are tall enough, else round indices
    ctx.fillStyle = rgbCss(th.fg);
    if (labels) {
      ctx.font = `11px ${th.mono}`;
      ctx.textAlign = "right";
      ctx.textBaseline = "middle";
      for (let i = 0; i < T; i++) {
        ctx.fillStyle = rgbCss(a.sinks[i] ? th.sink : i === a.selected ? th.accent : th.fg);
        ctx.fillText(cut(a.labels[i]), x0 - 5, y0 + (i + 0.5) * c);
        ctx.save();
        ctx.translate(keyStrip.xs[i], y0 + size + 5);
        ctx.rotate(keyStrip.angle);
        ctx.textAlign = keyStrip.angle === 0 ? "center" : "right";
        ctx.textBaseline = keyStrip.angle === 0 ? "top" : "middle";
        if (i % keyStrip.every === 0) ctx.fillText(cut(a.labels[i]), 0, 0);
        ctx.restore();
      }
    } else {
      ctx.font = `10px ${th.font}`;
      ctx.fillStyle = rgbCss(th.muted);
      const every = niceEvery(Math.ceil(T / 8));
      for (let i = 0; i < T; i += every) {
        ctx.textAlign = "right";
        ctx.textBaseline = "middle";
        ctx.fillText(String(i), x0 - 5, y0 + (i + 0.5) * c);
        ctx.textAlign = "center";
        ctx.textBaseline = "top";
        ctx.fillText(String(i), x0 + (i + 0.5) * c, y0 + size + 5);
      }
    }
    this.colorBar(ctx, th, x0 + size + 16, y0, size);
    return { x0, y0, size, T };
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

/** Map a pointer position to [query, key], or null outside the matrix. */
export function cellAt(hit: MatrixHit, x: number, y: number): [number, number] | null {
  const c = hit.size / Math.max(1, hit.T);
  const k = Math.floor((x - hit.x0) / c);
  const q = Math.floor((y - hit.y0) / c);
  return q >= 0 && q < hit.T && k >= 0 && k < hit.T ? [q, k] : null;
}
