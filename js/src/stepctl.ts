// Step control of a generated run: a slider over generation steps (0 = every query) with
// previous/next buttons. Moving it selects the step's query row (the `selected` trait), so
// the arcs, matrix and readout show what the model attended to when it chose that token.
// Hidden unless meta.prompt_len marks generated tokens. The step arithmetic is generation.ts.

import { keepKeys } from "./controls";
import { stepCount, stepOfRow, stepRow, stepText } from "./generation";

export class StepControl {
  readonly el: HTMLDivElement;
  private readonly input: HTMLInputElement;
  private readonly out: HTMLOutputElement;
  private readonly prev: HTMLButtonElement;
  private readonly next: HTMLButtonElement;
  private promptLen = 0;
  private n = 0;

  /** `onSelect(row)` selects a query row (null: every query). */
  constructor(doc: Document, onSelect: (row: number | null) => void) {
    this.el = doc.createElement("div");
    this.el.className = "bosw-control bosw-step";
    this.el.title =
      "Generation: step s is the forward pass that chose generated token s; its query row is the " +
      "last token the model had then";
    const name = doc.createElement("span");
    name.textContent = "Step";
    const button = (text: string, label: string, testid: string) => {
      const b = doc.createElement("button");
      b.type = "button";
      b.textContent = text;
      b.setAttribute("aria-label", label);
      b.dataset.testid = testid;
      keepKeys(b);
      return b;
    };
    this.prev = button("‹", "previous generation step", "bosw-step-prev");
    this.next = button("›", "next generation step", "bosw-step-next");
    this.input = doc.createElement("input");
    this.input.type = "range";
    this.input.min = "0";
    this.input.step = "1";
    this.input.dataset.testid = "bosw-step";
    this.input.setAttribute("aria-label", "generation step (0: every query)");
    keepKeys(this.input);
    this.out = doc.createElement("output");
    this.out.dataset.testid = "bosw-step-text";
    this.el.append(name, this.prev, this.input, this.next, this.out);
    this.el.hidden = true;
    const go = (s: number) => {
      const step = Math.max(0, Math.min(this.n, s));
      onSelect(step === 0 ? null : stepRow(step, this.promptLen));
    };
    this.input.addEventListener("input", () => go(Number(this.input.value)));
    this.prev.addEventListener("click", () => go(Number(this.input.value) - 1));
    this.next.addEventListener("click", () => go(Number(this.input.value) + 1));
  }

  /** Mirror the run (prompt length, T, display labels) and the selected query row. */
  update(promptLen: number | null | undefined, T: number, selected: number, labels: string[]) {
    this.n = stepCount(promptLen, T);
    this.el.hidden = this.n === 0;
    if (this.n === 0 || promptLen == null) return;
    this.promptLen = promptLen;
    const step = stepOfRow(selected, promptLen, T);
    this.input.max = String(this.n);
    this.input.value = String(step);
    this.prev.disabled = step <= 1;
    this.next.disabled = step >= this.n;
    const text = stepText(step, this.n, labels, promptLen);
    this.out.textContent = text;
    this.input.setAttribute("aria-valuetext", text);
  }
}
