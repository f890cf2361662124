// Standalone page entry (exported HTML): reads the run embedded as JSON in the page, stands in
// for the kernel with a model (standin.ts) that answers slice requests from the embedded
// bytes, and renders the same widget. Nothing is fetched.

import widget from "./index";
import { base64Bytes } from "./snapshot";
import { StandInModel } from "./standin";
import type { Bytes, RenderProps, Settled, SliceRequest, Traits } from "./types";

/** The JSON the Python exporter embeds (bos_widget/export/page.py, `page_data`). */
export interface PageData {
  /** the widget's synced traits (not the snapshot), opening on an exported slice */
  state: Traits;
  /**
   * "layer|head|weighting" -> the reply message and its bytes (base64), as the `snapshot`
   * trait holds one (the Python Snapshot TypedDict); `slot`: the sink slot column (sink logits)
   */
  slices: Record<string, { reply: Record<string, unknown>; data: string; slot?: string }>;
  /** what was left out of the export, as a sentence (shown when such a slice is asked for) */
  omitted: string;
  title: string;
}

/** Answers slice requests from the page's embedded bytes, asynchronously as a kernel would. */
export class EmbeddedModel extends StandInModel {
  constructor(private readonly data: PageData) {
    super(data.state);
  }

  /** The view may not ask again for a slice it asked for as a prefetch: say so here. */
  protected changed(name: keyof Traits): void {
    const { layer, head, weighting } = this.state;
    const shown = { kind: "request" as const, layer, head, weighting };
    if (["layer", "head", "weighting"].includes(name) && !this.slice(shown)) this.missing(shown);
  }

  private slice(r: SliceRequest) {
    return this.data.slices[`${r.layer}|${r.head}|${r.weighting}`];
  }

  private missing(r: SliceRequest): void {
    const what = `layer ${r.layer}, ${r.head < 0 ? "mean of heads" : `head ${r.head}`}`;
    const message = `This export does not include ${what}, ${r.weighting}. ${this.data.omitted}`;
    queueMicrotask(() => this.emit("msg:custom", { kind: "error", message }, []));
  }

  /**
   * Answer a slice request from the embedded bytes, asynchronously as a kernel would. A slice
   * the page does not hold gets an error only when it is the view shown (not for prefetches).
   */
  send(content: SliceRequest | Settled): void {
    if (content.kind !== "request") return; // "settled" keeps a kernel's snapshot: none here
    const hit = this.slice(content);
    const s = this.state;
    if (!hit) {
      const shown = s.layer === content.layer && s.head === content.head;
      if (shown && s.weighting === content.weighting) this.missing(content);
      return;
    }
    const slot = typeof hit.slot === "string" ? [base64Bytes(hit.slot)] : []; // sink slot
    const buffers: Bytes[] = [base64Bytes(hit.data), ...slot];
    queueMicrotask(() => this.emit("msg:custom", hit.reply, buffers));
  }
}

declare global {
  interface Window {
    boswExport?: { model: EmbeddedModel };
  }
}

/** Render the page's embedded run into `#bosw-app`. */
export function main(doc: Document): void {
  const script = doc.getElementById("bosw-data");
  const app = doc.getElementById("bosw-app");
  if (!script || !app) return;
  const data = JSON.parse(script.textContent ?? "{}") as PageData;
  doc.title = data.title;
  const model = new EmbeddedModel(data);
  widget.render({ model, el: app } as RenderProps);
  const win = doc.defaultView;
  if (win) win.boswExport = { model };
}

if (typeof document !== "undefined") main(document);
