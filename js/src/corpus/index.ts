// anywidget entry of the corpus overview (bos_widget/views/corpus_view.py, CorpusGrid): a layer x
// head grid coloured by mean α₀ over texts, a readout with the interval and n, and a strip of
// the selected head's α₀ on every text; picking a text asks Python to open it below. Wiring.

import { readTheme, type Theme } from "../draw/theme";
import { rampAt, rgbCss } from "../scale";
import { injectStyle } from "../style";
import { type CorpusMeta, captionText, cellText, moveCell, stripText } from "./text";

interface Model {
  get(name: string): unknown;
  set(name: string, value: unknown): void;
  save_changes(): void;
  send(content: unknown): void;
  on(event: string, cb: () => void): void;
  off(event: string, cb: () => void): void;
}

const CSS = `
.bosw-corpus .bosw-cgrid { display: grid; gap: 1px; align-items: center; font-size: 10px;
  margin: 6px 0; width: max-content; max-width: 100%; overflow-x: auto; }
.bosw-corpus .bosw-cgrid .lab { text-align: right; padding-right: 4px; color: var(--bosw-muted);
  white-space: nowrap; }
.bosw-corpus .bosw-cgrid .col { text-align: center; color: var(--bosw-muted); }
.bosw-corpus .ccell { height: 16px; min-width: 10px; border-radius: 2px; cursor: pointer; }
.bosw-corpus .ccell:hover { outline: 1px solid var(--bosw-accent); }
.bosw-corpus .ccell.current { outline: 2px solid var(--bosw-fg); z-index: 1; }
.bosw-corpus .ccell:focus-visible { outline: 3px solid var(--bosw-accent); }
.bosw-corpus .bosw-cstrip { display: flex; flex-wrap: wrap; gap: 2px; margin: 4px 0; }
.bosw-corpus .bosw-cstrip button { width: 14px; height: 22px; padding: 0; border: 0;
  border-radius: 2px; cursor: pointer; }
.bosw-corpus .bosw-cstrip button.opened { outline: 2px solid var(--bosw-fg); }
.bosw-corpus .bosw-cstrip button:focus-visible { outline: 3px solid var(--bosw-accent); }
.bosw-corpus .bosw-caption, .bosw-corpus .bosw-cnote { color: var(--bosw-muted); font-size: 11px; }
.bosw-corpus .bosw-creadout { font-variant-numeric: tabular-nums; min-height: 1.4em; }
.bosw-corpus .bosw-legend { display: inline-block; width: 120px; height: 10px;
  vertical-align: middle; margin: 0 4px; border: 1px solid var(--bosw-border); }
`;

function div(doc: Document, cls: string, testid?: string): HTMLDivElement {
  const d = doc.createElement("div");
  d.className = cls;
  if (testid) d.dataset.testid = testid;
  return d;
}

function render({ model, el }: { model: Model; el: HTMLElement }): () => void {
  const doc = el.ownerDocument;
  injectStyle(el);
  if (!doc.getElementById("bosw-corpus-style")) {
    const s = doc.createElement("style");
    s.id = "bosw-corpus-style";
    s.textContent = CSS;
    (doc.head ?? doc.body).appendChild(s);
  }
  const root = div(doc, "bosw bosw-corpus", "bosw-corpus");
  const title = div(doc, "bosw-ctitle");
  const caption = div(doc, "bosw-caption", "bosw-corpus-caption");
  const legend = div(doc, "bosw-cnote");
  const grid = div(doc, "bosw-cgrid", "bosw-corpus-grid");
  grid.setAttribute("role", "grid");
  const readout = div(doc, "bosw-creadout", "bosw-corpus-readout");
  readout.setAttribute("aria-live", "polite");
  const stripTitle = div(doc, "bosw-cnote");
  const strip = div(doc, "bosw-cstrip", "bosw-corpus-strip");
  strip.setAttribute("role", "list");
  const status = div(doc, "bosw-cnote", "bosw-corpus-status");
  root.append(title, caption, legend, grid, readout, stripTitle, strip, status);
  el.replaceChildren(root);
  const probe = doc.createElement("canvas").getContext("2d");

  let cells: HTMLElement[] = [];
  const meta = () => model.get("meta") as CorpusMeta;
  const grid2 = (name: string) => (model.get(name) as number[][]) ?? [];
  const theme = (): Theme | null => (probe ? readTheme(root, probe) : null);
  const colour = (t: Theme | null, v: number) =>
    t && Number.isFinite(v) ? rgbCss(rampAt(t.stops, v)) : "transparent";
  const describe = (l: number, h: number) => {
    const at = (g: number[][]) => g[l]?.[h] ?? Number.NaN;
    return cellText(l, h, at(grid2("mean")), at(grid2("lo")), at(grid2("hi")), meta().n);
  };
  const pick = (l: number, h: number) => {
    model.set("layer", l);
    model.set("head", h);
    model.save_changes();
  };

  function buildGrid(): void {
    const m = meta();
    const L = m.n_layers;
    const H = m.n_heads;
    const mean = grid2("mean");
    const t = theme();
    title.textContent = "Corpus overview: first-position sink score α₀ of every head";
    caption.textContent = captionText(m);
    legend.textContent = "";
    const bar = doc.createElement("span");
    bar.className = "bosw-legend";
    if (t)
      bar.style.background = `linear-gradient(to right, ${t.stops.map((c) => rgbCss(c)).join(", ")})`;
    legend.append("α₀ 0", bar, "1 · click a cell (or arrows + Enter) to pick a head");
    grid.style.gridTemplateColumns = `3em repeat(${L}, minmax(10px, 20px))`;
    const kids: HTMLElement[] = [];
    const lab = (text: string, cls: string) => {
      const d = div(doc, cls);
      d.textContent = text;
      kids.push(d);
    };
    lab("layer", "lab");
    const every = L > 40 ? 10 : L > 16 ? 5 : 1;
    for (let l = 0; l < L; l++) lab(l % every === 0 ? String(l) : "", "col");
    cells = [];
    for (let h = 0; h < H; h++) {
      lab(`h${h}`, "lab");
      for (let l = 0; l < L; l++) {
        const c = div(doc, "ccell", "bosw-corpus-cell");
        c.dataset.layer = String(l);
        c.dataset.head = String(h);
        c.setAttribute("role", "gridcell");
        c.tabIndex = -1;
        c.style.background = colour(t, mean[l]?.[h] ?? Number.NaN);
        c.title = describe(l, h);
        c.setAttribute("aria-label", c.title);
        kids.push(c);
        cells.push(c);
      }
    }
    grid.replaceChildren(...kids);
  }

  function markCurrent(): void {
    const l = model.get("layer") as number;
    const h = model.get("head") as number;
    for (const c of cells) {
      const on = c.dataset.layer === String(l) && c.dataset.head === String(h);
      c.classList.toggle("current", on);
      c.tabIndex = on ? 0 : -1;
      c.setAttribute("aria-selected", String(on));
    }
    readout.textContent = describe(l, h);
    root.dataset.selected = `${l}|${h}`;
  }

  function buildStrip(): void {
    const values = (model.get("strip") as number[]) ?? [];
    const labels = (model.get("labels") as string[]) ?? [];
    const opened = model.get("opened") as number | null;
    const t = theme();
    const m = meta();
    stripTitle.textContent =
      `α₀ of layer ${model.get("layer")}, head ${model.get("head")} on each of the ${values.length} texts` +
      (m.can_open
        ? " · pick a text to open it below in the normal view"
        : " · (no model given: texts cannot be opened)");
    const kids = values.map((v, i) => {
      const b = doc.createElement("button");
      b.type = "button";
      b.dataset.testid = "bosw-corpus-text";
      b.dataset.text = String(i);
      b.setAttribute("role", "listitem");
      b.style.background = colour(t, v);
      b.title = stripText(i, v, labels[i] ?? "");
      b.setAttribute("aria-label", b.title);
      b.classList.toggle("opened", opened === i);
      b.disabled = !m.can_open;
      b.addEventListener("click", () => model.send({ kind: "open", text: i }));
      return b;
    });
    strip.replaceChildren(...kids);
    root.dataset.opened = opened === null || opened === undefined ? "" : String(opened);
  }

  grid.addEventListener("click", (e) => {
    const c = (e.target as HTMLElement | null)?.closest?.("[data-layer]");
    if (c instanceof HTMLElement) pick(Number(c.dataset.layer), Number(c.dataset.head));
  });
  grid.addEventListener("mouseover", (e) => {
    const c = (e.target as HTMLElement | null)?.closest?.("[data-layer]");
    if (c instanceof HTMLElement)
      readout.textContent = describe(Number(c.dataset.layer), Number(c.dataset.head));
  });
  grid.addEventListener("mouseleave", markCurrent);
  grid.addEventListener("keydown", (e) => {
    const m = meta();
    const l = model.get("layer") as number;
    const h = model.get("head") as number;
    const next = moveCell(e.key, l, h, m.n_layers, m.n_heads);
    if (!next) return;
    e.preventDefault();
    pick(next[0], next[1]);
    markCurrent();
    cells.find((c) => c.tabIndex === 0)?.focus();
  });

  const onStatus = () => {
    status.textContent = String(model.get("status") ?? "");
  };
  const onAll = () => {
    buildGrid();
    markCurrent();
    buildStrip();
  };
  const onSel = () => {
    markCurrent();
  };
  onAll();
  onStatus();
  model.on("change:meta", onAll);
  model.on("change:mean", onAll);
  model.on("change:layer", onSel);
  model.on("change:head", onSel);
  model.on("change:strip", buildStrip);
  model.on("change:opened", buildStrip);
  model.on("change:status", onStatus);
  return () => {
    model.off("change:meta", onAll);
    model.off("change:mean", onAll);
    model.off("change:layer", onSel);
    model.off("change:head", onSel);
    model.off("change:strip", buildStrip);
    model.off("change:opened", buildStrip);
    model.off("change:status", onStatus);
  };
}

export default { render };
