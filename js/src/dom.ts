// DOM skeleton of one view: the root element and the static parts (header slot, figure with
// its canvas, readout, captions), plus the placeholder painted before the first slice.

import { fitCanvas, type Theme } from "./draw/theme";
import { rgbCss } from "./scale";

export function el<K extends keyof HTMLElementTagNameMap>(
  doc: Document,
  tag: K,
  cls: string,
  id?: string,
): HTMLElementTagNameMap[K] {
  const e = doc.createElement(tag);
  e.className = cls;
  if (id) e.dataset.testid = id;
  return e;
}

export interface Skeleton {
  root: HTMLDivElement;
  header: HTMLDivElement;
  figure: HTMLDivElement;
  canvas: HTMLCanvasElement;
  readout: HTMLDivElement;
  stripCaption: HTMLDivElement;
  gridCaption: HTMLDivElement;
  /** under the figure: what it shows (visible range, quantisation) and the zoom reset */
  figCaption: HTMLDivElement;
  figText: HTMLSpanElement;
  zoomReset: HTMLButtonElement;
}

export function skeleton(doc: Document): Skeleton {
  const root = el(doc, "div", "bosw", "bosw-root");
  const header = el(doc, "div", "bosw-header", "bosw-header");
  const figure = el(doc, "div", "bosw-figure");
  const canvas = el(doc, "canvas", "", "bosw-canvas");
  canvas.dataset.lmSuppressShortcuts = "true"; // arrow keys move the selected query (see controls.keepKeys)
  canvas.tabIndex = 0;
  canvas.setAttribute("role", "img");
  figure.append(canvas);
  const readout = el(doc, "div", "bosw-readout", "bosw-readout");
  readout.setAttribute("aria-live", "polite");
  const stripCaption = el(doc, "div", "bosw-caption");
  stripCaption.append("Tokens — click to select a query; ", el(doc, "span", "bosw-swatch"));
  stripCaption.append("sink key: α > ε (D1 score of this layer/head)");
  const gridCaption = el(doc, "div", "bosw-caption");
  const figCaption = el(doc, "div", "bosw-caption bosw-figcaption", "bosw-figcaption");
  const figText = el(doc, "span", "", "bosw-figcaption-text");
  const zoomReset = el(doc, "button", "bosw-zoom-reset", "bosw-zoom-reset");
  zoomReset.type = "button";
  zoomReset.textContent = "reset zoom";
  zoomReset.title = "Show the whole matrix again";
  zoomReset.dataset.lmSuppressShortcuts = "true";
  figCaption.append(figText, zoomReset);
  return {
    root,
    header,
    figure,
    canvas,
    readout,
    stripCaption,
    gridCaption,
    figCaption,
    figText,
    zoomReset,
  };
}

/** Caption of the overview grid. */
export function gridCaptionText(eps: number): string {
  return (
    "Overview: sink score α[l,h,0] of position 0 per layer (columns) and head (rows); " +
    `dot = α > ε (${eps.toFixed(2)}); outlined = shown above; click to pick.`
  );
}

/** What the canvas shows before any slice has arrived. */
export function placeholder(canvas: HTMLCanvasElement, theme: Theme, width: number, text: string) {
  const ctx = fitCanvas(canvas, width, 60);
  ctx.font = `12px ${theme.font}`;
  ctx.fillStyle = rgbCss(theme.muted);
  ctx.textBaseline = "middle";
  ctx.fillText(text, 8, 30);
}
