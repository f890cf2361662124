// Theme: read the widget's CSS variables once per paint and turn them into canvas colours,
// fonts and heatmap lookup tables; plus the devicePixelRatio-aware canvas sizing helper.

import { lut, parseColor, type RGB, rgbCss, sequentialStops } from "../scale";

export interface Theme {
  bg: RGB;
  fg: RGB;
  muted: RGB;
  border: RGB;
  accent: RGB;
  sink: RGB;
  font: string;
  mono: string;
  /** heatmap LUT (256 RGBA entries) from background to accent to text colour. */
  lut: Uint8ClampedArray;
  stops: RGB[];
}

const cache = new WeakMap<HTMLElement, { key: string; theme: Theme }>();

function resolve(ctx: CanvasRenderingContext2D, css: string, fallback: RGB): RGB {
  if (!css.trim()) return fallback;
  ctx.fillStyle = "#000";
  ctx.fillStyle = css.trim(); // the canvas normalises any CSS colour to #rrggbb or rgba()
  return parseColor(String(ctx.fillStyle)) ?? fallback;
}

/** Read the theme from the root element's computed style (cached until the variables change). */
export function readTheme(root: HTMLElement, probe: CanvasRenderingContext2D): Theme {
  const cs = getComputedStyle(root);
  const v = (n: string) => cs.getPropertyValue(n);
  const names = ["--bosw-bg", "--bosw-fg", "--bosw-muted", "--bosw-border", "--bosw-accent"];
  const raw = [...names, "--bosw-sink", "--bosw-font", "--bosw-mono"].map(v);
  const key = raw.join(";");
  const hit = cache.get(root);
  if (hit && hit.key === key) return hit.theme;
  probe.save();
  let bg = resolve(probe, raw[0], [255, 255, 255]);
  if (/rgba\(.*,\s*0\)$/.test(raw[0]) || raw[0].trim() === "transparent") bg = [255, 255, 255];
  const fg = resolve(probe, raw[1], [31, 35, 40]);
  const muted = resolve(probe, raw[2], [89, 99, 110]);
  const border = resolve(probe, raw[3], [208, 215, 222]);
  const accent = resolve(probe, raw[4], [31, 111, 235]);
  const sink = resolve(probe, raw[5], [232, 89, 12]);
  probe.restore();
  const stops = sequentialStops(bg, accent, fg);
  const theme: Theme = {
    bg,
    fg,
    muted,
    border,
    accent,
    sink,
    font: raw[6].trim() || "system-ui, sans-serif",
    mono: raw[7].trim() || "monospace",
    lut: lut(stops),
    stops,
  };
  cache.set(root, { key, theme });
  return theme;
}

/** Size a canvas to cssW x cssH CSS pixels at the device pixel ratio; returns its context. */
export function fitCanvas(
  canvas: HTMLCanvasElement,
  cssW: number,
  cssH: number,
): CanvasRenderingContext2D {
  const dpr = Math.max(1, canvas.ownerDocument.defaultView?.devicePixelRatio ?? 1);
  const w = Math.max(1, Math.round(cssW * dpr));
  const h = Math.max(1, Math.round(cssH * dpr));
  if (canvas.width !== w) canvas.width = w;
  if (canvas.height !== h) canvas.height = h;
  canvas.style.height = `${cssH}px`;
  const ctx = canvas.getContext("2d");
  if (!ctx) throw new Error("This browser gave no 2D canvas context; the widget cannot draw.");
  ctx.setTransform(w / cssW, 0, 0, h / cssH, 0, 0);
  ctx.clearRect(0, 0, cssW, cssH);
  return ctx;
}

/** Device pixels per CSS pixel of the canvas after fitCanvas. */
export function pixelRatio(canvas: HTMLCanvasElement): number {
  return Math.max(1, canvas.ownerDocument.defaultView?.devicePixelRatio ?? 1);
}

const widths = new WeakMap<string[], Map<string, number>>();

/**
 * Widest of `labels` (each cut to `maxChars`) in `font`, memoised per label array and font,
 * so repaints of the same tokens skip T measureText calls.
 */
export function maxLabelWidth(
  ctx: CanvasRenderingContext2D,
  labels: string[],
  font: string,
  cut: (s: string) => string,
): number {
  let byFont = widths.get(labels);
  if (!byFont) {
    byFont = new Map();
    widths.set(labels, byFont);
  }
  const hit = byFont.get(font);
  if (hit !== undefined) return hit;
  ctx.font = font;
  let w = 0;
  for (const s of labels) w = Math.max(w, ctx.measureText(cut(s)).width);
  byFont.set(font, w);
  return w;
}

/**
 * `text` cut (with "…") to fit `maxWidth` in the context's current font: a long figure title
 * in a narrow view (compare mode) must not run under the legend. The canvas' aria-label and
 * the header keep the full text.
 */
export function fitText(ctx: CanvasRenderingContext2D, text: string, maxWidth: number): string {
  if (ctx.measureText(text).width <= maxWidth) return text;
  const cps = Array.from(text);
  let lo = 0;
  let hi = cps.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (ctx.measureText(`${cps.slice(0, mid).join("")}…`).width <= maxWidth) lo = mid;
    else hi = mid - 1;
  }
  return `${cps.slice(0, lo).join("")}…`;
}

/** A heatmap's title (top left) and axis names: `keys` under the image, `queries` rotated
 * along its left side. Leaves textAlign "left" for the caller's next labels. */
export function drawHeatmapAxes(
  ctx: CanvasRenderingContext2D,
  th: Theme,
  a: { title: string; width: number; keys: string; queries: string },
  box: { x0: number; y0: number; w: number; h: number; drop: number },
): void {
  ctx.textBaseline = "middle";
  ctx.textAlign = "left";
  ctx.font = `600 12px ${th.font}`;
  ctx.fillStyle = rgbCss(th.fg);
  ctx.fillText(fitText(ctx, a.title, a.width - 16), 8, 10);
  ctx.font = `11px ${th.font}`;
  ctx.fillStyle = rgbCss(th.muted);
  ctx.textAlign = "center";
  ctx.fillText(a.keys, box.x0 + box.w / 2, box.y0 + box.h + box.drop + 10);
  ctx.save();
  ctx.translate(9, box.y0 + box.h / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.fillText(a.queries, 0, 0);
  ctx.restore();
  ctx.textAlign = "left";
}
