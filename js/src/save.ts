// Save: the "Save PNG" button. It composes the figure canvas under the header's words (model, T,
// layer/head, weighting, eps: every saved figure says what it is) and downloads it through an
// object URL, in a notebook and in an exported HTML page alike. Text is drawn with fillText.

import { keepKeys } from "./controls";
import type { Theme } from "./draw/theme";
import { rgbCss } from "./scale";

export interface FigureName {
  model: string;
  layer: number;
  head: number;
  weighting: string;
  view: string;
}

/** A file name that says what the figure is, safe on every file system (pure). */
export function figureFileName(f: FigureName, ext = "png"): string {
  const safe =
    f.model
      .replace(/[^A-Za-z0-9._-]+/g, "-")
      .replace(/^[-.]+|-+$/g, "")
      .slice(0, 40) || "attention";
  const head = f.head < 0 ? "mean" : `h${f.head}`;
  return `bos_widget_${safe}_L${f.layer}_${head}_${f.weighting}_${f.view}.${ext}`;
}

/** Greedy wrap of `items` joined by " · " into lines no wider than `width` (pure). */
export function wrapItems(items: string[], width: number, measure: (s: string) => number) {
  const lines: string[] = [];
  let line = "";
  for (const item of items) {
    const next = line ? `${line} · ${item}` : item;
    if (line && measure(next) > width) {
      lines.push(line);
      line = item;
    } else line = next;
  }
  if (line) lines.push(line);
  return lines;
}

/** The figure under the header's items (wrapped), on the theme's background. */
export function composeFigure(
  canvas: HTMLCanvasElement,
  items: string[],
  theme: Theme,
): HTMLCanvasElement {
  const doc = canvas.ownerDocument;
  const scale = canvas.width / Math.max(1, canvas.clientWidth || canvas.width);
  const lineH = Math.round(18 * scale);
  const pad = Math.round(8 * scale);
  const out = doc.createElement("canvas");
  const ctx = out.getContext("2d");
  if (!ctx) return canvas;
  const font = `600 ${Math.round(13 * scale)}px ${theme.font}`;
  ctx.font = font;
  const lines = wrapItems(items, canvas.width - 2 * pad, (s) => ctx.measureText(s).width);
  out.width = canvas.width;
  out.height = canvas.height + pad * 2 + lineH * lines.length;
  ctx.fillStyle = rgbCss(theme.bg); // resizing reset the context: set everything again
  ctx.fillRect(0, 0, out.width, out.height);
  ctx.fillStyle = rgbCss(theme.fg);
  ctx.font = font;
  ctx.textBaseline = "top";
  lines.forEach((line, i) => {
    ctx.fillText(line, pad, pad + i * lineH, out.width - 2 * pad);
  });
  ctx.drawImage(canvas, 0, pad * 2 + lineH * lines.length);
  return out;
}

/** Download a canvas as PNG under `name` (canvas.toBlob -> object URL -> <a download>). */
export function downloadCanvas(canvas: HTMLCanvasElement, name: string): void {
  const doc = canvas.ownerDocument;
  canvas.toBlob((blob) => {
    if (!blob) return;
    const url = URL.createObjectURL(blob);
    const a = doc.createElement("a");
    a.href = url;
    a.download = name;
    a.style.display = "none";
    doc.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }, "image/png");
}

/** The button; `onSave` composes and downloads the current figure. */
export function saveButton(doc: Document, onSave: () => void): HTMLButtonElement {
  const b = doc.createElement("button");
  b.type = "button";
  b.className = "bosw-save";
  b.dataset.testid = "bosw-save";
  b.textContent = "Save PNG";
  b.title = "Download the figure as shown, with the header, as a PNG file";
  keepKeys(b);
  b.addEventListener("click", onSave);
  return b;
}
