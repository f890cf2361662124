// Prompt boundary painter: a dashed line between the last prompt token and the first
// generated one, drawn over the arcs (between two labels) or the matrix (a column and a row),
// with a small "generated →" tag. Draws on the canvas a painter has just fitted.

import { type RGB, rgbCss } from "../scale";
import type { Theme } from "./theme";

export interface BoundaryAt {
  /** first generated position P */
  at: number;
  theme: Theme;
}

function dashed(
  ctx: CanvasRenderingContext2D,
  c: RGB,
  x0: number,
  y0: number,
  x1: number,
  y1: number,
) {
  ctx.save();
  ctx.setLineDash([4, 3]);
  ctx.strokeStyle = rgbCss(c, 0.9);
  ctx.lineWidth = 1.25;
  ctx.beginPath();
  ctx.moveTo(x0, y0);
  ctx.lineTo(x1, y1);
  ctx.stroke();
  ctx.restore();
}

function tag(ctx: CanvasRenderingContext2D, th: Theme, x: number, y: number) {
  ctx.save();
  ctx.font = `600 10px ${th.font}`;
  ctx.textAlign = "left";
  ctx.textBaseline = "top";
  ctx.fillStyle = rgbCss(th.muted);
  ctx.fillText("generated →", x + 3, y);
  ctx.restore();
}

/** Arcs: token i is centred at left + (i + 0.5) * step; the line sits at left + at * step. */
export function arcsBoundary(
  canvas: HTMLCanvasElement,
  b: BoundaryAt,
  left: number,
  step: number,
  height: number,
): void {
  const ctx = canvas.getContext("2d");
  if (!ctx || step <= 0) return;
  const x = left + b.at * step;
  canvas.dataset.boundary = `${x.toFixed(1)} 26 ${(height - 2).toFixed(1)}`; // for tests
  dashed(ctx, b.theme.fg, x, 26, x, height - 2);
  tag(ctx, b.theme, x, 26);
}

/** Matrix: a column and a row line at position `at` where the visible region holds it. */
export function matrixBoundary(
  canvas: HTMLCanvasElement,
  b: BoundaryAt,
  hit: {
    x0: number;
    y0: number;
    size: number;
    region: { q0: number; q1: number; k0: number; k1: number };
  },
): void {
  const ctx = canvas.getContext("2d");
  if (!ctx) return;
  const R = hit.region;
  const kStep = hit.size / Math.max(1, R.k1 - R.k0);
  const qStep = hit.size / Math.max(1, R.q1 - R.q0);
  if (b.at > R.k0 && b.at < R.k1) {
    const x = hit.x0 + (b.at - R.k0) * kStep;
    canvas.dataset.boundary = `${x.toFixed(1)} ${hit.y0} ${hit.y0 + hit.size}`; // for tests
    dashed(ctx, b.theme.fg, x, hit.y0, x, hit.y0 + hit.size);
  }
  if (b.at > R.q0 && b.at < R.q1) {
    const y = hit.y0 + (b.at - R.q0) * qStep;
    dashed(ctx, b.theme.fg, hit.x0, y, hit.x0 + hit.size, y);
    tag(ctx, b.theme, hit.x0 + hit.size, y - 6);
  }
}
