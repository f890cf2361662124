// Header, error banner and readout: the text that says what every figure shows (model, T, BOS,
// layer/head, weighting, eps) and the numbers under the pointer. Text only via textContent.

import type { Meta, Weighting } from "./types";

export interface HeaderState {
  meta: Meta;
  layer: number;
  head: number;
  weighting: Weighting;
  threshold: number;
  hideSinks: boolean;
  label: string;
  loading: boolean;
}

/** The header's key/value items, in order (pure). */
export function headerItems(s: HeaderState): [string, string][] {
  const m = s.meta;
  const bos = m.bos_added
    ? `added (${JSON.stringify(m.first_token)})`
    : `not added; first token ${JSON.stringify(m.first_token)}`;
  const q = m.query_tokens; // cross-attention: decoder queries x encoder keys
  return [
    [
      "T",
      q
        ? `${q.length} decoder × ${m.T} encoder`
        : m.prompt_len
          ? `${m.T} (prompt ${m.prompt_len} + ${m.T - m.prompt_len} generated)`
          : String(m.T),
    ],
    ["BOS/[CLS]", bos],
    ["layer", `${s.layer}/${Math.max(0, m.n_layers - 1)}`],
    ["head", s.head < 0 ? `mean of ${m.n_heads}` : `${s.head}/${Math.max(0, m.n_heads - 1)}`],
    ["weighting", s.weighting === "norm" ? "norm-weighted" : "raw"],
    ["ε", s.threshold.toFixed(2)],
    ["attention", q ? "cross (decoder → encoder)" : m.causal ? "causal" : "bidirectional"],
    ...(s.hideSinks ? [["sinks", "hidden, rows renormalised"] as [string, string]] : []),
    ...(m.summary
      ? [["kept", "mean of heads + sink scores (summary mode)"] as [string, string]]
      : []),
  ];
}

export function renderHeader(el: HTMLElement, s: HeaderState): void {
  const doc = el.ownerDocument;
  const model = doc.createElement("span");
  model.className = "bosw-model";
  model.textContent = s.meta.model || "(model)";
  if (s.meta.model_class) model.title = s.meta.model_class;
  const parts: HTMLElement[] = [model];
  if (s.label) {
    const label = doc.createElement("span");
    label.className = "bosw-label";
    label.dataset.testid = "bosw-label";
    label.textContent = s.label;
    parts.unshift(label);
  }
  for (const [k, v] of headerItems(s)) {
    const span = doc.createElement("span");
    span.className = "bosw-kv";
    const b = doc.createElement("b");
    b.textContent = v;
    span.append(`${k} `, b);
    parts.push(span);
  }
  if (s.meta.summary) {
    const note = doc.createElement("span");
    note.className = "bosw-summary";
    note.dataset.testid = "bosw-summary";
    note.textContent = s.meta.summary; // what was left out, as Python states it
    parts.push(note);
  }
  if (s.loading) {
    const l = doc.createElement("span");
    l.className = "bosw-loading";
    l.textContent = "loading slice…";
    parts.push(l);
  }
  el.replaceChildren(...parts);
}

/** The dismissable error banner. */
export class ErrorBanner {
  readonly el: HTMLDivElement;
  private readonly text: HTMLSpanElement;

  constructor(doc: Document) {
    this.el = doc.createElement("div");
    this.el.className = "bosw-error";
    this.el.dataset.testid = "bosw-error";
    this.el.setAttribute("role", "alert");
    this.text = doc.createElement("span");
    const close = doc.createElement("button");
    close.type = "button";
    close.textContent = "×";
    close.title = "Dismiss";
    close.setAttribute("aria-label", "Dismiss error");
    close.dataset.testid = "bosw-error-dismiss";
    close.addEventListener("click", () => this.show(""));
    this.el.append(this.text, close);
    this.el.hidden = true;
  }

  show(message: string): void {
    this.text.textContent = message;
    this.el.hidden = !message;
  }
}

/** One line of the readout: plain text pieces, sink names highlighted. */
export type Piece = string | { sink: string };

export function renderReadout(el: HTMLElement, lines: Piece[][]): void {
  const doc = el.ownerDocument;
  el.replaceChildren(
    ...lines.map((pieces) => {
      const div = doc.createElement("div");
      for (const p of pieces) {
        if (typeof p === "string") div.append(p);
        else {
          const s = doc.createElement("span");
          s.className = "bosw-sinkname";
          s.textContent = p.sink;
          div.append(s);
        }
      }
      div.title = div.textContent ?? "";
      return div;
    }),
  );
}

/** Percent with one decimal. */
export function pct(x: number): string {
  return `${(100 * x).toFixed(1)}%`;
}
