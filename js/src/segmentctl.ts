// Segment control: the "Sentences" select of a sentence-pair run (all, A→A, A→B, B→A, B→B).
// Hidden unless meta.segment_b_start splits the tokens; reports user changes through a
// callback and mirrors the `segment` trait via update(). The filtering itself is segments.ts.

import { keepKeys } from "./controls";
import { type Segment, segmentOptions } from "./segments";

const LABEL: Record<Segment, string> = {
  all: "all",
  "A→A": "A → A",
  "A→B": "A → B",
  "B→A": "B → A",
  "B→B": "B → B",
};

export class SegmentControl {
  readonly el: HTMLLabelElement;
  private readonly sel: HTMLSelectElement;

  constructor(doc: Document, onChange: (v: Segment) => void) {
    this.el = doc.createElement("label");
    this.el.className = "bosw-control";
    this.el.title =
      "Sentence pair: draw only the attention of one sentence's queries to one sentence's keys";
    const name = doc.createElement("span");
    name.textContent = "Sentences";
    this.sel = doc.createElement("select");
    this.sel.dataset.testid = "bosw-segment";
    keepKeys(this.sel);
    this.el.append(name, this.sel);
    this.el.hidden = true;
    this.sel.addEventListener("change", () => onChange(this.sel.value as Segment));
  }

  /** Show the control for a split at `bStart` of T tokens (hide it without one). */
  update(segment: string, bStart: number | null | undefined, T: number): void {
    const options = segmentOptions(bStart, T);
    this.el.hidden = options.length === 0;
    const now = Array.from(this.sel.options, (o) => o.value).join("|");
    if (now !== options.join("|")) {
      this.sel.replaceChildren(
        ...options.map((v) => {
          const o = this.sel.ownerDocument.createElement("option");
          o.value = v;
          o.textContent = LABEL[v];
          return o;
        }),
      );
    }
    this.sel.value = options.includes(segment as Segment) ? segment : "all";
  }
}
