// Controls: labelled native sliders (layer, head, threshold), selects (view, weighting) and
// the hide-sinks checkbox.
// They report user changes through callbacks and mirror trait values via update().

import type { ViewMode, Weighting } from "./types";

export interface ControlState {
  layer: number;
  head: number;
  threshold: number;
  view: ViewMode;
  weighting: Weighting;
  hideSinks: boolean;
  nLayers: number;
  nHeads: number;
  weightings: string[];
  /** Summary mode: the head slider stays on the mean of heads. */
  headLocked?: boolean;
  /** Pooled run (long input): arcs and hidden sinks need every value and are not offered. */
  pooled?: boolean;
}

/** Why the arcs view and hiding sinks are off for a pooled run (a control's tooltip). */
export const POOLED_NOTE =
  "Long input: only the matrix view, pooled to the screen (zoom for exact values); arcs and " +
  "hiding sinks need every value of the slice. Capture fewer tokens (max_tokens=...) for them.";

export interface ControlCallbacks {
  onLayer(v: number): void;
  onHead(v: number): void;
  onThreshold(v: number): void;
  onView(v: ViewMode): void;
  onWeighting(v: Weighting): void;
  onHideSinks(v: boolean): void;
}

const WEIGHTING_LABEL: Record<string, string> = {
  raw: "raw attention A",
  norm: "norm-weighted ‖A·f(x)‖",
};

/**
 * Keep arrow keys for this control: JupyterLab and Notebook 7 bind them to cell navigation in
 * command mode, and their shortcut system matches the focused element itself, so the
 * attribute must sit on every focusable control (on the root it is not enough).
 */
export function keepKeys(e: HTMLElement): void {
  e.dataset.lmSuppressShortcuts = "true";
}

function slider(doc: Document, label: string, testid: string, step: string) {
  const wrap = doc.createElement("label");
  wrap.className = "bosw-control";
  const name = doc.createElement("span");
  name.textContent = label;
  const input = doc.createElement("input");
  input.type = "range";
  input.step = step;
  input.dataset.testid = testid;
  keepKeys(input);
  const out = doc.createElement("output");
  wrap.append(name, input, out);
  return { wrap, input, out };
}

function select(doc: Document, label: string, testid: string) {
  const wrap = doc.createElement("label");
  wrap.className = "bosw-control";
  const name = doc.createElement("span");
  name.textContent = label;
  const sel = doc.createElement("select");
  sel.dataset.testid = testid;
  keepKeys(sel);
  wrap.append(name, sel);
  return { wrap, sel };
}

function setOptions(sel: HTMLSelectElement, values: string[], labels: Record<string, string>) {
  const now = Array.from(sel.options, (o) => o.value).join("|");
  if (now === values.join("|")) return;
  sel.replaceChildren(
    ...values.map((v) => {
      const o = sel.ownerDocument.createElement("option");
      o.value = v;
      o.textContent = labels[v] ?? v;
      return o;
    }),
  );
}

function checkbox(doc: Document, label: string, testid: string, title: string) {
  const wrap = doc.createElement("label");
  wrap.className = "bosw-control";
  wrap.title = title;
  const box = doc.createElement("input");
  box.type = "checkbox";
  box.dataset.testid = testid;
  keepKeys(box);
  const name = doc.createElement("span");
  name.textContent = label;
  wrap.append(box, name);
  return { wrap, box };
}

/** Text shown next to the head slider. */
export function headText(head: number, nHeads: number): string {
  return head < 0 ? "mean of heads" : `${head} of 0–${nHeads - 1}`;
}

export class Controls {
  readonly el: HTMLDivElement;
  private readonly layer;
  private readonly head;
  private readonly thr;
  private readonly view;
  private readonly weighting;
  private readonly hide;
  private readonly hideTitle: string;
  private nLayers = 1;
  private nHeads = 1;

  constructor(doc: Document, cb: ControlCallbacks) {
    this.el = doc.createElement("div");
    this.el.className = "bosw-controls";
    this.layer = slider(doc, "Layer", "bosw-layer", "1");
    this.head = slider(doc, "Head", "bosw-head", "1");
    this.thr = slider(doc, "Sink ε", "bosw-threshold", "0.01");
    this.thr.input.min = "0";
    this.thr.input.max = "1";
    this.head.input.min = "-1";
    this.layer.input.min = "0";
    this.view = select(doc, "View", "bosw-view");
    setOptions(this.view.sel, ["arcs", "matrix"], { arcs: "arcs", matrix: "matrix" });
    this.weighting = select(doc, "Weighting", "bosw-weighting");
    this.hide = checkbox(
      doc,
      "Hide sinks",
      "bosw-hide-sinks",
      "Remove the sink keys (α > ε) and renormalise each row: what the head does apart from sinking",
    );
    this.hideTitle = this.hide.wrap.title;
    this.el.append(
      this.layer.wrap,
      this.head.wrap,
      this.thr.wrap,
      this.view.wrap,
      this.weighting.wrap,
      this.hide.wrap,
    );
    this.layer.input.addEventListener("input", () => {
      const v = Number(this.layer.input.value);
      this.layer.out.textContent = `${v} of 0–${this.nLayers - 1}`;
      cb.onLayer(v);
    });
    this.head.input.addEventListener("input", () => {
      const v = Number(this.head.input.value);
      this.head.out.textContent = headText(v, this.nHeads);
      cb.onHead(v);
    });
    this.thr.input.addEventListener("input", () => {
      const v = Number(this.thr.input.value);
      this.thr.out.textContent = v.toFixed(2);
      cb.onThreshold(v);
    });
    this.view.sel.addEventListener("change", () => cb.onView(this.view.sel.value as ViewMode));
    this.weighting.sel.addEventListener("change", () =>
      cb.onWeighting(this.weighting.sel.value as Weighting),
    );
    this.hide.box.addEventListener("change", () => cb.onHideSinks(this.hide.box.checked));
  }

  /** Mirror the current trait values (called on every relevant trait change). */
  update(s: ControlState): void {
    this.nLayers = Math.max(1, s.nLayers);
    this.nHeads = Math.max(1, s.nHeads);
    this.layer.input.max = String(this.nLayers - 1);
    this.head.input.max = String(this.nHeads - 1);
    this.layer.input.value = String(s.layer);
    this.head.input.value = String(s.head);
    this.head.input.disabled = s.headLocked === true; // summary mode: only the mean of heads
    this.thr.input.value = String(s.threshold);
    this.layer.out.textContent = `${s.layer} of 0–${this.nLayers - 1}`;
    this.head.out.textContent = headText(s.head, this.nHeads);
    this.thr.out.textContent = s.threshold.toFixed(2);
    this.head.input.setAttribute("aria-valuetext", headText(s.head, this.nHeads));
    this.view.sel.value = s.view;
    const ws = s.weightings.length ? s.weightings : ["raw"];
    setOptions(this.weighting.sel, ws, WEIGHTING_LABEL);
    this.weighting.sel.value = s.weighting;
    this.weighting.sel.disabled = ws.length < 2;
    this.hide.box.checked = s.hideSinks;
    const pooled = s.pooled === true;
    const arcs = Array.from(this.view.sel.options).find((o) => o.value === "arcs");
    if (arcs) arcs.disabled = pooled;
    this.view.wrap.title = pooled ? POOLED_NOTE : "";
    this.hide.box.disabled = pooled;
    this.hide.wrap.title = pooled ? POOLED_NOTE : this.hideTitle;
  }
}
