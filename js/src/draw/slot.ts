// Sink slot painters: the learned sink logit's column beside the matrix and its target left
// of the tokens in the arc view (slot.ts). Dashed outlines and an italic label set it apart
// from the tokens: it is a virtual key, never a token.

import { type RGB, rgbCss } from "../scale";
import { SLOT_LABEL } from "../slot";
import type { Region } from "../zoom";
import type { Theme } from "./theme";

/** Gap between the matrix and the slot column, the column's width, and its label's width. */
export const SLOT_GAP = 8;
export const SLOT_W = 14;
const LABEL_W = 16;
/** CSS px the matrix view reserves on its right for the slot column and its label. */
export const SLOT_RESERVE = SLOT_GAP + SLOT_W + LABEL_W;
/** CSS px the arc view reserves on its left for the slot's target. */
export const SLOT_ARC_W = 64;

export interface SlotColumn {
  /** p_sink per row of the slice; with `rows`, per row bin (absolute bin edges) */
  values: Float32Array;
  rows?: Int32Array | null;
  /** the slot's score is above the threshold: drawn in the sink colour */
  sink: boolean;
  /** the query row hovered in the slot column, -1 for none */
  hover: number;
  /** the slot's score, written in its label */
  alpha: number;
}

const lutColour = (lut: Uint8ClampedArray, v: number): string => {
  const li = (v <= 0 ? 0 : v >= 1 ? 255 : (Math.sqrt(v) * 255 + 0.5) | 0) * 4;
  return `rgb(${lut[li]}, ${lut[li + 1]}, ${lut[li + 2]})`;
};

/**
 * Paint the slot column at x (CSS px) beside a matrix whose visible rows R.q0..R.q1 span
 * y0..y0 + size, on the matrix's colour scale; larger values are painted last, so a pixel
 * shared by several rows shows their max, as the matrix does.
 */
export function drawSlotColumn(
  ctx: CanvasRenderingContext2D,
  th: Theme,
  col: SlotColumn,
  x: number,
  y0: number,
  size: number,
  R: Region,
): void {
  const ch = size / Math.max(1, R.q1 - R.q0);
  const spans: [number, number, number][] = []; // [q0, q1, value] clipped to the region
  for (let i = 0; i < col.values.length; i++) {
    const a = Math.max(R.q0, col.rows ? col.rows[i] : i);
    const b = Math.min(R.q1, col.rows ? col.rows[i + 1] : i + 1);
    if (a < b) spans.push([a, b, col.values[i]]);
  }
  spans.sort((s, t) => s[2] - t[2]);
  for (const [a, b, v] of spans) {
    ctx.fillStyle = lutColour(th.lut, v);
    ctx.fillRect(x, y0 + (a - R.q0) * ch, SLOT_W, Math.max((b - a) * ch, 0.5));
  }
  const edge: RGB = col.sink ? th.sink : th.muted;
  ctx.strokeStyle = rgbCss(edge);
  ctx.lineWidth = 1.5;
  ctx.setLineDash([3, 2]);
  ctx.strokeRect(x - 1.5, y0 - 1.5, SLOT_W + 3, size + 3);
  ctx.setLineDash([]);
  if (col.sink) {
    ctx.fillStyle = rgbCss(th.sink);
    ctx.fillRect(x, y0 - 10, SLOT_W, 6);
  }
  if (col.hover >= R.q0 && col.hover < R.q1) {
    ctx.strokeStyle = rgbCss(th.fg);
    ctx.lineWidth = 1.5;
    ctx.strokeRect(x - 1, y0 + (col.hover - R.q0) * ch - 1, SLOT_W + 2, Math.max(ch, 1) + 2);
  }
  ctx.save();
  ctx.translate(x + SLOT_W + LABEL_W / 2 + 2, y0 + size / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.font = `italic ${col.sink ? "700 " : ""}11px ${th.font}`;
  ctx.fillStyle = rgbCss(col.sink ? th.sink : th.fg);
  ctx.textAlign = "center";
  ctx.textBaseline = "middle";
  ctx.fillText(`${SLOT_LABEL} (not a token) · α ${col.alpha.toFixed(2)}`, 0, 0);
  ctx.restore();
}

/** The query row under (x, y) in a slot column drawn at slotX, or -1 outside it. */
export function slotRowAt(
  hit: { y0: number; size: number; region: Region; slotX?: number | null },
  x: number,
  y: number,
): number {
  const sx = hit.slotX;
  if (sx == null || x < sx - 2 || x > sx + SLOT_W + 2 || y < hit.y0 || y >= hit.y0 + hit.size)
    return -1;
  const R = hit.region;
  return R.q0 + Math.floor(((y - hit.y0) / hit.size) * (R.q1 - R.q0));
}

/**
 * Paint the slot's target in the arc view: a dot on the baseline at x (filled in the sink
 * colour when it is a sink, hollow otherwise) and the italic label in a dashed box below.
 */
export function drawSlotTarget(
  ctx: CanvasRenderingContext2D,
  th: Theme,
  x: number,
  base: number,
  sink: boolean,
  dim: boolean,
): void {
  const c: RGB = sink ? th.sink : dim ? th.muted : th.fg;
  ctx.strokeStyle = rgbCss(c);
  ctx.fillStyle = rgbCss(c);
  ctx.lineWidth = 1.5;
  ctx.beginPath();
  ctx.arc(x, base, 3.5, 0, 2 * Math.PI);
  if (sink) ctx.fill();
  else ctx.stroke();
  ctx.font = `italic ${sink ? "700 " : ""}11px ${th.font}`;
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  const w = ctx.measureText(SLOT_LABEL).width;
  ctx.fillText(SLOT_LABEL, x, base + 7);
  ctx.setLineDash([3, 2]);
  ctx.lineWidth = 1;
  ctx.strokeRect(x - w / 2 - 3, base + 4, w + 6, 17);
  ctx.setLineDash([]);
}
