// Norms strip: under the figure, two thin bar rows aligned with the figure's token columns:
// ||h|| of each token's residual stream after the current layer (SCIENCE.md D5) and ||v|| of
// its value vector in the current head (D4), with massive activations marked. After the last
// layer the row says which hidden state it is (Python's meta.last_hidden: the last block's
// output, before the final norm where the model has one). DOM bars (so tests and screen
// readers can read them); bar heights and labels are pure functions, tested in vitest.

import { displayToken } from "./tokens";
import type { TokenStats } from "./types";

/** Horizontal geometry of the figure above: token i spans [left + i*step, left + (i+1)*step]. */
export interface Columns {
  left: number;
  step: number;
}

export interface NormsInput {
  stats: TokenStats | null;
  tokens: string[];
  layer: number;
  head: number;
  nHeads: number;
  nLayers: number;
  /** meta.last_hidden: what the hidden state after the last layer is ("" when unknown) */
  lastHidden: string;
  columns: Columns;
}

export const BAR_H = 20;

/** Bar heights in px on a log scale, h = maxH * log(1 + x) / log(1 + max); 0 for x <= 0. */
export function barHeights(values: ArrayLike<number>, maxH = BAR_H): Float64Array {
  let top = 0;
  for (let i = 0; i < values.length; i++) top = Math.max(top, values[i]);
  const out = new Float64Array(values.length);
  if (!(top > 0)) return out;
  const denom = Math.log1p(top);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    out[i] = v > 0 ? Math.max(1, (maxH * Math.log1p(v)) / denom) : 0;
  }
  return out;
}

/** Tokens per bar: 1 while a token gets >= 3 px, else enough to make a bar ~3 px wide. */
export function barBlock(step: number): number {
  return step >= 3 ? 1 : Math.ceil(3 / Math.max(step, 1e-3));
}

/** Max of each block of `block` consecutive values (the last block may be shorter). */
export function blockMax(values: ArrayLike<number>, block: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < values.length; i += block) {
    let m = Number.NEGATIVE_INFINITY;
    for (let j = i; j < Math.min(values.length, i + block); j++) m = Math.max(m, values[j]);
    out.push(m);
  }
  return out;
}

/** Short number: 3 significant digits, exponent form from 10^4. */
export function fmt(x: number): string {
  return Math.abs(x) >= 1e4 ? x.toExponential(1) : x.toPrecision(3);
}

/**
 * Which hidden state the ‖h‖ row shows: the residual stream after `layer`, and after the last
 * layer what Python says it is (e.g. "last block output (before the final norm)").
 */
export function hiddenWhat(layer: number, nLayers: number, lastHidden = ""): string {
  const last = lastHidden && layer === nLayers - 1;
  return last ? `after layer ${layer}: ${lastHidden}` : `after layer ${layer} (residual stream)`;
}

/** Row labels: what each row shows, with its largest value. */
export function rowLabels(
  s: TokenStats,
  layer: number,
  head: number,
  nHeads: number,
  nLayers = 0,
  lastHidden = "",
) {
  const argmax = (xs: number[]) => xs.reduce((b, x, i) => (x > xs[b] ? i : b), 0);
  const peak = (xs: number[]) =>
    xs.length ? ` · max ${fmt(xs[argmax(xs)])} at #${argmax(xs)}` : "";
  const who = head < 0 ? `mean of ${nHeads} heads` : `head ${head}`;
  return {
    hidden: `‖h‖ ${hiddenWhat(layer, nLayers, lastHidden)}${peak(s.hidden_norm)}`,
    value: s.value_norm ? `‖v‖ ${who} (value vectors)${peak(s.value_norm)}` : "",
  };
}

const LEGEND =
  "Per-token norms at this layer/head; bar height ∝ log(1 + norm), each row scaled to its own " +
  "max; hover a bar for its value.";
const MASSIVE =
  "massive activation: some |x| > 100 and > 1000× the layer's median |x| (Sun et al. 2024)";

export class NormsStrip {
  readonly el: HTMLDivElement;
  private last: unknown[] = [];

  constructor(private readonly doc: Document) {
    this.el = doc.createElement("div");
    this.el.className = "bosw-norms";
    this.el.dataset.testid = "bosw-norms";
    this.el.hidden = true;
  }

  update(a: NormsInput): void {
    const key = [a.stats, a.tokens, a.layer, a.head, a.lastHidden, a.columns.left, a.columns.step];
    if (key.every((v, i) => v === this.last[i])) return; // hover repaints change nothing here
    this.last = key;
    const s = a.stats;
    this.el.hidden = !s;
    if (!s) {
      this.el.replaceChildren();
      return;
    }
    const labels = rowLabels(s, a.layer, a.head, a.nHeads, a.nLayers, a.lastHidden);
    const massive = new Set(s.massive);
    const legend = this.doc.createElement("div");
    legend.className = "bosw-norms-legend";
    legend.append(LEGEND, " ");
    const mk = this.doc.createElement("span");
    mk.className = "bosw-massive-key";
    mk.textContent = "▲";
    legend.append(mk, ` ${MASSIVE}${massive.size ? "" : " — none after this layer"}.`);
    const rows: HTMLElement[] = [legend];
    rows.push(this.row("hidden", labels.hidden, s.hidden_norm, a, massive));
    for (const i of massive) rows[1].lastElementChild?.append(this.marker(i, a));
    if (s.value_norm) rows.push(this.row("value", labels.value, s.value_norm, a, new Set()));
    this.el.replaceChildren(...rows);
  }

  private row(
    kind: string,
    label: string,
    values: number[],
    a: NormsInput,
    massive: Set<number>,
  ): HTMLElement {
    const row = this.doc.createElement("div");
    row.className = `bosw-norms-row ${kind}`;
    row.dataset.testid = `bosw-norms-${kind}`;
    const name = this.doc.createElement("div");
    name.className = "bosw-norms-label";
    name.textContent = label;
    name.title = label;
    const bars = this.doc.createElement("div");
    bars.className = "bosw-bars";
    const { left, step } = a.columns;
    const name1 = kind === "hidden" ? "‖h‖" : "‖v‖";
    const what = kind === "hidden" ? ` ${hiddenWhat(a.layer, a.nLayers, a.lastHidden)}` : "";
    // more tokens than a few pixels each: one bar per block of tokens, its max (few DOM nodes)
    const block = barBlock(step);
    const tops = blockMax(values, block);
    const hs = barHeights(tops);
    const width = step * block;
    const gap = width >= 4 ? 1 : 0;
    tops.forEach((v, b) => {
      const i = b * block;
      const j = Math.min(values.length, i + block) - 1;
      const bar = this.doc.createElement("div");
      let hot = false;
      for (let t = i; t <= j && !hot; t++) hot = massive.has(t);
      bar.className = hot ? "bosw-bar massive" : "bosw-bar";
      bar.dataset.testid = "bosw-bar";
      bar.style.left = `${left + i * step + gap}px`;
      bar.style.width = `${Math.max(1, width - 2 * gap)}px`;
      bar.style.height = `${hs[b]}px`;
      bar.title =
        block === 1
          ? `#${i} “${displayToken(a.tokens[i] ?? "")}”: ${name1} = ${fmt(v)}${what}`
          : `#${i}–#${j}: max ${name1} = ${fmt(v)}${what}`;
      bars.append(bar);
    });
    row.append(name, bars);
    return row;
  }

  private marker(i: number, a: NormsInput): HTMLElement {
    const m = this.doc.createElement("div");
    m.className = "bosw-massive";
    m.dataset.testid = "bosw-massive";
    m.dataset.index = String(i);
    m.textContent = "▲";
    m.style.left = `${a.columns.left + (i + 0.5) * a.columns.step}px`;
    m.title = `#${i} “${displayToken(a.tokens[i] ?? "")}”: ${MASSIVE}, ${hiddenWhat(a.layer, a.nLayers, a.lastHidden)}`;
    return m;
  }
}
