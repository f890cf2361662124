// Arc painter: tokens on a baseline, one arc per kept (query -> key) weight; opacity and width
// follow the weight, arcs into sink keys use the sink colour. Focus mode shows one query's arcs
// with their weights. Causal models: backward arcs above the line. Bidirectional: backward
// arcs above, forward arcs below the label band.

import { arcGeometry, labelDrop, stripLayout, truncate } from "../layout";
import type { Pruned } from "../prune";
import { type RGB, rgbCss } from "../scale";
import { drawSlotTarget, SLOT_ARC_W } from "./slot";
import { fitCanvas, fitText, maxLabelWidth, type Theme } from "./theme";

export interface ArcsInput {
  T: number;
  causal: boolean;
  labels: string[];
  pruned: Pruned;
  sinks: ArrayLike<number>;
  /** query whose arcs alone are shown (hover or selection), -1 for all. */
  focus: number;
  selected: number;
  title: string;
  theme: Theme;
  width: number;
  /** learned sink logits: pruned arcs with key T go to the sink slot's target, drawn left of
   * the tokens (draw/slot.ts); `sink` when its score is above the threshold */
  slot?: { sink: boolean } | null;
}

/** Geometry the view needs to map pointer x back to a token. */
export interface ArcsHit {
  left: number;
  step: number;
  T: number;
  /** the sink slot's target [x, baseline y], when one is drawn */
  slot?: [number, number] | null;
}

const BINS = 8;
const LABEL_FONT = 11;
const LINE_H = 13;
const TITLE_H = 24;

function drawTitle(ctx: CanvasRenderingContext2D, title: string, th: Theme, width: number) {
  ctx.textBaseline = "middle";
  ctx.font = `11px ${th.font}`;
  const items: [RGB, string][] = [
    [th.sink, "into sink key (α > ε)"],
    [th.accent, "into other key"],
  ];
  let x = width - 8;
  ctx.textAlign = "right";
  for (let i = items.length - 1; i >= 0; i--) {
    const [c, label] = items[i];
    ctx.fillStyle = rgbCss(th.muted);
    ctx.fillText(label, x, 10);
    x -= ctx.measureText(label).width + 5;
    ctx.strokeStyle = rgbCss(c);
    ctx.lineWidth = 2.5;
    ctx.beginPath();
    ctx.moveTo(x - 16, 10);
    ctx.lineTo(x, 10);
    ctx.stroke();
    x -= 30;
  }
  ctx.font = `600 12px ${th.font}`;
  ctx.fillStyle = rgbCss(th.fg);
  ctx.textAlign = "left";
  ctx.fillText(fitText(ctx, title, x + 14 - 8), 8, 10); // x + 14: right end of the last swatch
}

/** Paint the arc view; returns the hit-test geometry. */
export function drawArcs(canvas: HTMLCanvasElement, a: ArcsInput): ArcsHit {
  const th = a.theme;
  const { T, pruned } = a;
  const probe = canvas.getContext("2d");
  if (!probe) throw new Error("This browser gave no 2D canvas context; the widget cannot draw.");
  const cut = (s: string) => truncate(s, 14);
  const font = `${LABEL_FONT}px ${th.mono}`;
  const maxW = Math.min(maxLabelWidth(probe, a.labels, font, cut), 110);
  const slotX = a.slot ? 14 + SLOT_ARC_W / 2 - 6 : 0;
  const left = 14 + (a.slot ? SLOT_ARC_W : 0);
  const right = a.width - 14;
  const strip = stripLayout(T, left, right, maxW, LINE_H);
  const drop = strip.angle === 0 ? LINE_H + 6 : labelDrop(maxW, LINE_H, strip.angle) + 8;
  const arcsH = Math.max(120, Math.min(240, Math.round(a.width * 0.24)));
  const topBase = TITLE_H + arcsH;
  const lowBase = topBase + drop + 6;
  const lowH = Math.round(arcsH * 0.6);
  const height = a.causal ? topBase + drop + 6 : lowBase + lowH + 8;
  const ctx = fitCanvas(canvas, a.width, height);
  drawTitle(ctx, a.title, th, a.width);

  const span = right - left;
  const dens = T <= 48 ? 1 : Math.max(0.3, Math.sqrt(48 / T));
  const lwScale = Math.max(0.35, Math.min(1, strip.step / 10));
  const loopR = Math.max(2, Math.min(7, strip.step * 0.4));
  const isSink = (k: number) => (k === T ? a.slot?.sink === true : Boolean(a.sinks[k]));
  const arcPath = (q: number, k: number) => {
    const xq = strip.xs[q];
    if (k === T) {
      // the slot, left of every token: always a backward arc above the line
      const g = arcGeometry(xq, slotX, topBase, span, arcsH - 10, -1);
      ctx.moveTo(g.x0, g.y0);
      ctx.quadraticCurveTo(g.cx, g.cy, g.x1, g.y0);
      return g;
    }
    const xk = strip.xs[k];
    if (q === k) {
      ctx.moveTo(xq, topBase);
      ctx.bezierCurveTo(
        xq - loopR,
        topBase - 2.4 * loopR,
        xq + loopR,
        topBase - 2.4 * loopR,
        xq,
        topBase,
      );
      return arcGeometry(xq, xk, topBase, span, 0, -1);
    }
    const down = k > q;
    const g = down
      ? arcGeometry(xq, xk, lowBase, span, lowH - 6, 1)
      : arcGeometry(xq, xk, topBase, span, arcsH - 10, -1);
    ctx.moveTo(g.x0, g.y0);
    ctx.quadraticCurveTo(g.cx, g.cy, g.x1, g.y0);
    return g;
  };
  ctx.lineCap = "round";
  const n = pruned.q.length;
  if (a.focus < 0) {
    // batch strokes by (weight bin, sink flag): 2 * BINS strokes however many arcs
    const bins: number[][] = Array.from({ length: 2 * BINS }, () => []);
    for (let i = 0; i < n; i++) {
      const b = Math.min(BINS - 1, Math.floor(pruned.w[i] * BINS));
      bins[b * 2 + (isSink(pruned.k[i]) ? 1 : 0)].push(i);
    }
    for (let b = 0; b < 2 * BINS; b++) {
      if (!bins[b].length) continue;
      const wc = (Math.floor(b / 2) + 0.5) / BINS;
      ctx.strokeStyle = rgbCss(b % 2 ? th.sink : th.accent, dens * (0.12 + 0.8 * wc));
      ctx.lineWidth = (0.6 + 3.4 * wc) * lwScale;
      ctx.beginPath();
      for (const i of bins[b]) arcPath(pruned.q[i], pruned.k[i]);
      ctx.stroke();
    }
  } else {
    const mine: number[] = [];
    for (let i = 0; i < n; i++) if (pruned.q[i] === a.focus) mine.push(i);
    const apexes: [number, number, number, boolean][] = [];
    for (const i of mine) {
      const w = pruned.w[i];
      ctx.strokeStyle = rgbCss(isSink(pruned.k[i]) ? th.sink : th.accent, 0.3 + 0.7 * w);
      ctx.lineWidth = 1 + 4 * w;
      ctx.beginPath();
      const g = arcPath(pruned.q[i], pruned.k[i]);
      ctx.stroke();
      const self = pruned.q[i] === pruned.k[i];
      apexes.push([g.ax, self ? topBase - 2.4 * loopR : g.ay, w, g.ay > topBase]);
    }
    ctx.font = `600 10px ${th.font}`;
    ctx.textAlign = "center";
    ctx.lineWidth = 3;
    ctx.strokeStyle = rgbCss(th.bg);
    ctx.fillStyle = rgbCss(th.fg);
    for (const [x, y, w, below] of apexes) {
      const ty = below ? y + 8 : y - 7;
      ctx.textBaseline = "middle";
      ctx.strokeText(w.toFixed(2), x, ty);
      ctx.fillText(w.toFixed(2), x, ty);
    }
  }

  // baseline ticks, sink dots, selection marker
  ctx.fillStyle = rgbCss(th.border);
  const bases = a.causal ? [topBase] : [topBase, lowBase];
  if (strip.step >= 3) {
    for (const y of bases) for (let i = 0; i < T; i++) ctx.fillRect(strip.xs[i] - 0.5, y, 1, 3);
  }
  for (let i = 0; i < T; i++) {
    if (!a.sinks[i]) continue;
    ctx.fillStyle = rgbCss(th.sink);
    for (const y of bases) {
      ctx.beginPath();
      ctx.arc(strip.xs[i], y, 3, 0, 2 * Math.PI);
      ctx.fill();
    }
  }
  const targets = new Set<number>();
  if (a.focus >= 0)
    for (let i = 0; i < n; i++) if (pruned.q[i] === a.focus) targets.add(pruned.k[i]);
  if (a.slot) {
    const dim = a.focus >= 0 && !targets.has(T);
    drawSlotTarget(ctx, th, slotX, topBase, a.slot.sink, dim);
  }

  // labels
  ctx.textBaseline = strip.angle === 0 ? "top" : "middle";
  ctx.textAlign = strip.angle === 0 ? "center" : "right";
  for (let i = 0; i < T; i++) {
    const forced = i === a.focus || i === a.selected || a.sinks[i];
    if (i % strip.every !== 0 && !forced) continue;
    const bold = a.sinks[i] || i === a.focus || i === a.selected;
    ctx.font = `${bold ? "700 " : ""}${LABEL_FONT}px ${th.mono}`;
    let c = th.fg;
    if (a.sinks[i]) c = th.sink;
    else if (i === a.focus || i === a.selected) c = th.accent;
    else if (a.focus >= 0 && !targets.has(i)) c = th.muted;
    ctx.fillStyle = rgbCss(c);
    const label = cut(a.labels[i]);
    ctx.save();
    ctx.translate(strip.xs[i], topBase + 6);
    ctx.rotate(strip.angle);
    ctx.fillText(label, strip.angle === 0 ? 0 : -2, 0);
    ctx.restore();
  }
  if (a.selected >= 0 && a.selected < T) {
    const x = strip.xs[a.selected];
    ctx.fillStyle = rgbCss(th.accent);
    ctx.beginPath();
    ctx.moveTo(x, topBase + 1);
    ctx.lineTo(x - 4, topBase - 6);
    ctx.lineTo(x + 4, topBase - 6);
    ctx.fill();
  }
  return { left, step: strip.step, T, slot: a.slot ? [slotX, topBase] : null };
}
