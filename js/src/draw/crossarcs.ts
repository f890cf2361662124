// Cross-attention arc painter: decoder queries on a top row, encoder keys on a bottom row, one
// curve per kept (query -> key) weight; opacity and width follow the weight, curves into sink
// keys use the sink colour. Focus mode shows one query's curves with their weights. The pure
// geometry (crossGeometry) is unit-tested; drawing is canvas only, token text via fillText.

import { labelDrop, type Strip, stripLayout, truncate } from "../layout";
import type { Pruned } from "../prune";
import { rgbCss } from "../scale";
import type { ArcsHit } from "./arcs";
import { fitCanvas, fitText, maxLabelWidth, type Theme } from "./theme";

export interface CrossArcsInput {
  /** decoder queries (top row) and encoder keys (bottom row), display strings */
  queryLabels: string[];
  keyLabels: string[];
  pruned: Pruned;
  /** sink mask over encoder keys */
  sinks: ArrayLike<number>;
  /** query whose curves alone are shown (hover or selection), -1 for all */
  focus: number;
  selected: number;
  title: string;
  theme: Theme;
  width: number;
}

export interface CrossGeometry {
  queries: Strip;
  keys: Strip;
  /** y of the decoder row and of the encoder row */
  top: number;
  bottom: number;
  height: number;
}

const FONT = 11;
const LINE_H = 13;
const TITLE_H = 24;
const NAME_W = 58; // "decoder" / "encoder" row names on the left

/** Where the two rows and their tokens go, for labels at most `labelW` px wide. */
export function crossGeometry(Tq: number, Tk: number, width: number, labelW: number) {
  const left = NAME_W;
  const right = width - 14;
  const queries = stripLayout(Tq, left, right, labelW, LINE_H);
  const keys = stripLayout(Tk, left, right, labelW, LINE_H);
  const up = queries.angle === 0 ? LINE_H + 4 : labelDrop(labelW, LINE_H, queries.angle) + 6;
  const down = keys.angle === 0 ? LINE_H + 6 : labelDrop(labelW, LINE_H, keys.angle) + 8;
  const top = TITLE_H + up + 4;
  const bottom = top + Math.max(120, Math.min(260, Math.round(width * 0.22)));
  return { queries, keys, top, bottom, height: bottom + down + 6 } satisfies CrossGeometry;
}

/** Paint the two-row arc view; returns the hit-test geometry of the decoder (query) row. */
export function drawCrossArcs(canvas: HTMLCanvasElement, a: CrossArcsInput): ArcsHit {
  const th = a.theme;
  const { pruned } = a;
  const Tq = a.queryLabels.length;
  const Tk = a.keyLabels.length;
  const probe = canvas.getContext("2d");
  if (!probe) throw new Error("This browser gave no 2D canvas context; the widget cannot draw.");
  const cut = (s: string) => truncate(s, 14);
  const font = `${FONT}px ${th.mono}`;
  const all = [...a.queryLabels, ...a.keyLabels];
  const maxW = Math.min(maxLabelWidth(probe, all, font, cut), 110);
  const g = crossGeometry(Tq, Tk, a.width, maxW);
  const ctx = fitCanvas(canvas, a.width, g.height);
  ctx.textBaseline = "middle";
  ctx.font = `600 12px ${th.font}`;
  ctx.fillStyle = rgbCss(th.fg);
  ctx.textAlign = "left";
  ctx.fillText(fitText(ctx, a.title, a.width - 16), 8, 10);

  const mid = (g.top + g.bottom) / 2;
  const xq = g.queries.xs;
  const xk = g.keys.xs;
  const curve = (q: number, k: number) => {
    ctx.moveTo(xq[q], g.top);
    ctx.bezierCurveTo(xq[q], mid, xk[k], mid, xk[k], g.bottom);
  };
  ctx.lineCap = "round";
  const n = pruned.q.length;
  const dens = Tq * Tk <= 400 ? 1 : Math.max(0.3, Math.sqrt(400 / (Tq * Tk)));
  const labels: [number, number][] = [];
  for (let i = 0; i < n; i++) {
    if (a.focus >= 0 && pruned.q[i] !== a.focus) continue;
    const w = pruned.w[i];
    const sink = a.sinks[pruned.k[i]];
    const alpha = a.focus >= 0 ? 0.3 + 0.7 * w : dens * (0.12 + 0.8 * w);
    ctx.strokeStyle = rgbCss(sink ? th.sink : th.accent, alpha);
    ctx.lineWidth = a.focus >= 0 ? 1 + 4 * w : 0.6 + 3.4 * w;
    ctx.beginPath();
    curve(pruned.q[i], pruned.k[i]);
    ctx.stroke();
    if (a.focus >= 0) labels.push([pruned.k[i], w]);
  }
  // the focused query's weights, just above the key they land on
  ctx.font = `600 10px ${th.font}`;
  ctx.textAlign = "center";
  ctx.lineWidth = 3;
  ctx.strokeStyle = rgbCss(th.bg);
  ctx.fillStyle = rgbCss(th.fg);
  for (const [k, w] of labels) {
    ctx.strokeText(w.toFixed(2), xk[k], g.bottom - 10);
    ctx.fillText(w.toFixed(2), xk[k], g.bottom - 10);
  }

  // the two rows, their names, sink dots and the selection marker
  ctx.fillStyle = rgbCss(th.border);
  ctx.fillRect(NAME_W, g.top, a.width - 14 - NAME_W, 1);
  ctx.fillRect(NAME_W, g.bottom, a.width - 14 - NAME_W, 1);
  ctx.font = `11px ${th.font}`;
  ctx.fillStyle = rgbCss(th.muted);
  ctx.textAlign = "left";
  ctx.fillText("decoder", 4, g.top);
  ctx.fillText("encoder", 4, g.bottom);
  ctx.fillStyle = rgbCss(th.sink);
  for (let k = 0; k < Tk; k++) {
    if (!a.sinks[k]) continue;
    ctx.beginPath();
    ctx.arc(xk[k], g.bottom, 3, 0, 2 * Math.PI);
    ctx.fill();
  }
  if (a.selected >= 0 && a.selected < Tq) {
    const x = xq[a.selected];
    ctx.fillStyle = rgbCss(th.accent);
    ctx.beginPath();
    ctx.moveTo(x, g.top + 1);
    ctx.lineTo(x - 4, g.top + 8);
    ctx.lineTo(x + 4, g.top + 8);
    ctx.fill();
  }
  const targets = new Set<number>(labels.map(([k]) => k));
  const row = (strip: Strip, names: string[], y: number, above: boolean, isKey: boolean) => {
    ctx.textBaseline = strip.angle === 0 ? (above ? "bottom" : "top") : "middle";
    ctx.textAlign = strip.angle === 0 ? "center" : above ? "left" : "right";
    for (let i = 0; i < names.length; i++) {
      const sink = isKey && a.sinks[i];
      const focus = !isKey && (i === a.focus || i === a.selected);
      if (i % strip.every !== 0 && !sink && !focus) continue;
      ctx.font = `${sink || focus ? "700 " : ""}${FONT}px ${th.mono}`;
      let c = th.fg;
      if (sink) c = th.sink;
      else if (focus) c = th.accent;
      else if (a.focus >= 0 && isKey && !targets.has(i)) c = th.muted;
      ctx.fillStyle = rgbCss(c);
      ctx.save();
      ctx.translate(strip.xs[i], above ? y - 5 : y + 6);
      ctx.rotate(strip.angle);
      ctx.fillText(cut(names[i]), strip.angle === 0 ? 0 : above ? 2 : -2, 0);
      ctx.restore();
    }
  };
  row(g.queries, a.queryLabels, g.top, true, false);
  row(g.keys, a.keyLabels, g.bottom, false, true);
  return { left: NAME_W, step: g.queries.step, T: Tq };
}
