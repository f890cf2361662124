// anywidget entry: builds the view's DOM, wires model traits and custom messages to the
// slice client, painters, controls, norms strip, token strip and overview grid. Wiring only.

import { poolBins, poolText } from "./bins";
import type { Spec } from "./cache";
import { Controls } from "./controls";
import { queryTokensOf } from "./cross";
import { gridCaptionText, placeholder, skeleton } from "./dom";
import type { ArcsHit } from "./draw/arcs";
import { type CrossMatrixHit, crossCellAt } from "./draw/crossmatrix";
import { CrossView } from "./draw/crossview";
import { drawFigure } from "./draw/figure";
import { OverviewGrid } from "./draw/grid";
import { cellAt, MAX_SIDE, type MatrixHit, MatrixPainter } from "./draw/matrix";
import { slotRowAt } from "./draw/slot";
import { readTheme, type Theme } from "./draw/theme";
import { sinkShare, whatText } from "./figuretext";
import { ErrorBanner, renderHeader, renderReadout } from "./header";
import { bindCanvas } from "./interact";
import { indexAt } from "./layout";
import { NormsStrip } from "./norms";
import { readoutLines } from "./readout";
import { composeFigure, downloadCanvas, figureFileName, saveButton } from "./save";
import { SegmentControl } from "./segmentctl";
import { segmentOf, segmentText } from "./segments";
import { sinkMask } from "./sinks";
import {
  alphaOf,
  covers,
  type Entry,
  hiddenOf,
  LOST_KERNEL,
  prunedOf,
  quantNote,
  SliceClient,
  specFor,
  TOP_P,
} from "./slices";
import { slotIsSink } from "./slot";
import { snapshotMessage } from "./snapshot";
import { StepControl } from "./stepctl";
import { injectStyle } from "./style";
import { displayToken, TokenStrip } from "./tokens";
import type { Meta, RenderProps, Traits, Weighting, WidgetModel } from "./types";
import { ZoomControl } from "./zoomctl";

const EMPTY_META: Meta = {
  model: "",
  model_class: "",
  causal: true,
  bos_added: false,
  first_token: "",
  n_layers: 0,
  n_heads: 0,
  T: 0,
  weightings: ["raw"],
};

function render({ model, el: host }: RenderProps): () => void {
  const doc = host.ownerDocument;
  injectStyle(host);
  const m = model as WidgetModel;
  const meta = (): Meta => ({ ...EMPTY_META, ...(m.get("meta") ?? {}) });
  const tokens = (): string[] => m.get("tokens") ?? [];
  const T = () => meta().T || tokens().length;
  // cross-attention: the decoder's tokens are the queries (rows), `tokens` the encoder keys
  const queries = (): string[] | null => queryTokensOf(meta());
  const Tq = () => queries()?.length ?? T();
  // the region on screen: cross-attention shows its whole [Tq, T] slice (no zoom)
  const visible = () => (queries() ? { q0: 0, q1: Tq(), k0: 0, k1: T() } : zoom.region(T()));
  const pooled = () => meta().pooled === true; // long input: regions pooled to the pixels
  const selected = (): number => m.get("selected") ?? -1;
  const save = <K extends keyof Traits>(name: K, v: Traits[K]) => {
    m.set(name, v);
    sync();
  };
  // After a kernel restart the comm is gone and save_changes throws: say so in the banner.
  function sync(): void {
    try {
      m.save_changes();
    } catch {
      banner.show(LOST_KERNEL);
    }
  }

  const sk = skeleton(doc);
  const { root, header, figure, canvas, readout, stripCaption, gridCaption } = sk;
  const banner = new ErrorBanner(doc);
  const controls = new Controls(doc, {
    onLayer: (v) => save("layer", v),
    onHead: (v) => save("head", v),
    onThreshold: (v) => save("threshold", v),
    onView: (v) => save("view", v),
    onWeighting: (v) => save("weighting", v),
    onHideSinks: (v) => save("hide_sinks", v),
  });
  const segments = new SegmentControl(doc, (v) => save("segment", v));
  controls.el.append(segments.el);
  const steps = new StepControl(doc, (row) => save("selected", row));
  controls.el.append(steps.el);
  const norms = new NormsStrip(doc);
  const strip = new TokenStrip(doc, {
    // the strip lists keys; a query is picked there unless keys and queries differ (cross)
    onSelect: (i) => queries() || save("selected", selected() === i ? null : i),
    onHover: (i) => queries() || setHover(i, null),
  });
  const grid = new OverviewGrid(doc, (l, h) => {
    m.set("layer", l);
    m.set("head", meta().summary ? -1 : h); // summary mode keeps only the mean of heads
    sync();
  });
  const saveBtn = saveButton(doc, () => {
    const model = queries() ? `${meta().model.slice(0, 34)}_cross` : meta().model;
    const name = { model, layer: m.get("layer"), head: m.get("head") };
    const view = m.get("view") === "matrix" ? "matrix" : "arcs";
    const file = figureFileName({ ...name, weighting: m.get("weighting") ?? "raw", view });
    const items = Array.from(header.children, (c) => c.textContent ?? "");
    downloadCanvas(composeFigure(canvas, items, measure().theme), file);
  });
  controls.el.append(saveBtn);
  root.append(header, banner.el, controls.el, figure, norms.el, sk.figCaption, readout);
  root.append(stripCaption, strip.note, strip.el);
  root.append(gridCaption, grid.el);
  host.appendChild(root);
  const probe = doc.createElement("canvas").getContext("2d") as CanvasRenderingContext2D;

  const painters = { matrix: new MatrixPainter(), cross: new CrossView() };
  let crossHit: CrossMatrixHit | null = null;
  let queryLabels: string[] | undefined; // display strings of the decoder's tokens
  let hover = -1;
  let hoverCell: [number, number] | null = null;
  let arcsHit: ArcsHit | null = null;
  let matrixHit: MatrixHit | null = null;
  let drawn: Entry | null = null;
  let labels: string[] = []; // display strings, rebuilt when the tokens change
  const zoom = new ZoomControl(sk, () => {
    hoverCell = null;
    if (pooled())
      redraw(); // a new region: ask the kernel for it
    else if (drawn) paint(drawn);
  });

  const client = new SliceClient(
    m,
    T,
    (key) => {
      const want = client.get(m.get("layer"), m.get("head"), m.get("weighting"), wantSpec());
      if ((want && want.key === key) || (pooled() && !drawn)) redraw();
    },
    (msg) => banner.show(msg),
    () => queries()?.length ?? null,
  );

  /**
   * Pooled runs: the visible region, pooled to the matrix's device pixels (a power of two, at
   * most meta.pool_bins a side); exact once the region is no longer than that. Else null.
   */
  function wantSpec(width = measure().width): Spec | null {
    if (!pooled() || T() === 0) return null;
    const ratio = doc.defaultView?.devicePixelRatio || 1;
    const side = Math.max(60, Math.min(MAX_SIDE, width - 126)) * ratio; // matrix.ts margins
    return specFor(visible(), poolBins(side, meta().pool_bins ?? 1024));
  }

  // pooled runs ask once a zoom or slider has settled: a wheel flick sends one request
  let soon: ReturnType<typeof setTimeout> | undefined;
  function requestSoon(layer: number, head: number, w: Weighting, spec: Spec): void {
    clearTimeout(soon);
    soon = setTimeout(() => client.request(layer, head, w, spec), 60);
  }

  // Read style and layout before any DOM write of this frame (avoids forced re-layouts).
  function measure(): { theme: Theme; width: number } {
    return { theme: readTheme(root, probe), width: Math.max(320, figure.clientWidth || 800) };
  }

  function paint(entry: Entry, pre = measure()): void {
    const t0 = performance.now();
    const { theme, width } = pre;
    const mt = meta();
    const toks = tokens();
    const eps = m.get("threshold") ?? 0.3;
    const g = entry.grid ?? null; // a pooled region: no arcs, hidden sinks or segments
    const view = m.get("view") === "matrix" || g ? "matrix" : "arcs";
    // what this slice is: the view may have moved on (a slice in flight, or no kernel at all
    // in a reopened notebook); the figure says what it draws, the header what was asked for
    const [layer, head] = entry.key.split("|").map(Number);
    const weighting = entry.key.split("|")[2];
    const alpha = alphaOf(entry, mt.causal);
    const mask = sinkMask(alpha, eps, mt.causal);
    const sel = selected();
    const focus = hover >= 0 ? hover : sel;
    const hide = m.get("hide_sinks") === true && !g ? hiddenOf(entry, mask) : null;
    const seg = g ? "" : segmentText(m.get("segment"), entry.T, mt.segment_b_start);
    // what is drawn: the slice, or it with sinks hidden, restricted to a sentence pair's segments
    const shown = g
      ? entry
      : segmentOf(hide ? hide.entry : entry, m.get("segment"), mt.segment_b_start);
    // learned sink logits: the sink slot column (slot.ts); hiding sinks removes it as well
    const slotRun = mt.sink_slot === true;
    const slot = entry.slot ?? null;
    const shownSlot = hide ? null : (shown.slot ?? null);
    const slotSink = slotIsSink(slot, eps);
    if (labels.length !== entry.T)
      labels = Array.from({ length: entry.T }, (_, i) => displayToken(toks[i] ?? ""));
    const qt = queries();
    if (qt && queryLabels?.length !== qt.length) queryLabels = qt.map((t) => displayToken(t));
    const what = whatText({
      layer,
      head,
      weighting,
      hidden: hide !== null,
      slotRun,
      segment: seg,
      withSlot: shownSlot !== null,
    });
    const pruned = !g && (view === "arcs" || focus >= 0) ? prunedOf(shown) : null;
    const pooledText = g ? poolText(g.rows, g.cols, g.pool) : "";
    // cross-attention draws the whole [Tq, T] slice (no zoom)
    const region = qt ? { q0: 0, q1: qt.length, k0: 0, k1: entry.T } : zoom.region(entry.T);
    const zoomed = qt ? "" : zoom.suffix(view === "matrix", entry.T);
    const P = mt.prompt_len ?? 0; // a generated run: its prompt boundary is marked
    const hit = drawFigure(canvas, painters, {
      ...{ view, data: shown.data, grid: g, T: entry.T, causal: mt.causal, labels },
      ...{ queryLabels: qt && queryLabels ? queryLabels : null, pruned, sinks: mask, focus },
      ...{ selected: sel, hover: hoverCell, region, band: zoom.band, what, zoomed, pooledText },
      ...{ topP: TOP_P, theme, width, generated: P > 0 && P < entry.T ? P : 0 },
      slot: shownSlot
        ? {
            ...{ values: shownSlot.values, rows: g ? g.rows : null, sink: slotSink },
            hover: hoverCell && hoverCell[1] === entry.T ? hoverCell[0] : -1,
            alpha: shownSlot.alpha,
          }
        : null,
    });
    [arcsHit, matrixHit, crossHit] = [hit.arcs, hit.matrix, hit.cross];
    const block = hit.block;
    canvas.setAttribute(
      "aria-label",
      `${view === "arcs" ? "Attention arcs" : "Attention matrix"}, ${what}${zoomed}`,
    );
    zoom.caption(view === "matrix" && !qt, entry.T, quantNote(entry), pooledText);
    strip.update(mask, qt ? -1 : sel);
    const keyStep = matrixHit ? matrixHit.size / Math.max(1, region.k1 - region.k0) : 0;
    const columns = arcsHit
      ? { left: arcsHit.left, step: arcsHit.step }
      : { left: (matrixHit?.x0 ?? 0) - region.k0 * keyStep, step: keyStep };
    const { n_heads: nHeads, n_layers: nLayers, last_hidden: lastHidden = "" } = mt;
    norms.update({
      stats: entry.stats,
      tokens: toks,
      layer,
      head,
      nHeads,
      nLayers,
      lastHidden,
      columns,
    });
    grid.update(theme, eps, layer, head);
    renderReadout(
      readout,
      readoutLines({
        tokens: toks,
        alpha,
        causal: mt.causal,
        eps,
        share: sinkShare({
          ...{ data: entry.data, T: entry.T, alpha, mask, causal: mt.causal, pooled: g !== null },
          ...{ Tq: qt ? qt.length : null, slot, eps },
        }),
        view,
        pruned,
        topP: TOP_P,
        focus,
        hoverCell,
        data: shown.data,
        T: entry.T,
        queryTokens: qt,
        grid: g,
        aggregatedBlock: block,
        hidden: hide
          ? { emptyRows: hide.hidden.emptyRows, removed: hide.hidden.removed + (slot?.alpha ?? 0) }
          : null,
        slot: slotRun ? { slot, weighting } : null,
      }),
    );
    drawn = entry;
    root.dataset.paintMs = (performance.now() - t0).toFixed(2);
    // what is on screen, for tests and benchmarks: "layer|head|weighting:view", and a counter
    const filtered = seg ? `:${m.get("segment")}` : "";
    root.dataset.painted = `${entry.key}:${view}${hide ? ":hidden" : ""}${filtered}`;
    root.dataset.paints = String(Number(root.dataset.paints ?? 0) + 1);
  }

  /** Hand the `snapshot` trait's slice (kept for kernel-less reopening) to the client once. */
  function feedSnapshot(): void {
    const snap = snapshotMessage(m.get("snapshot"));
    if (!snap) return;
    const r = snap[0];
    if (client.get(Number(r.layer), Number(r.head), String(r.weighting) as Weighting)) return;
    client.handle(snap[0], snap[1]);
  }

  function redraw(): void {
    root.dataset.theme = m.get("theme") || "auto"; // display_mode of head_view / model_view
    const pre = measure();
    const mt = meta();
    const layer = m.get("layer");
    const head = m.get("head");
    const w = m.get("weighting") ?? "raw";
    controls.update({
      layer,
      head,
      threshold: m.get("threshold") ?? 0.3,
      view: m.get("view"),
      weighting: w,
      hideSinks: m.get("hide_sinks") === true,
      nLayers: mt.n_layers,
      nHeads: mt.n_heads,
      weightings: mt.weightings,
      headLocked: Boolean(mt.summary),
      pooled: pooled(),
    });
    segments.update(m.get("segment") ?? "all", pooled() ? null : mt.segment_b_start, T());
    const shownLabels = labels.length === T() ? labels : tokens().map((t) => displayToken(t));
    steps.update(mt.prompt_len, T(), selected(), shownLabels);
    gridCaption.textContent = gridCaptionText(m.get("threshold") ?? 0.3);
    const spec = wantSpec(pre.width);
    const entry = T() > 0 ? client.get(layer, head, w, spec) : undefined;
    renderHeader(header, {
      meta: { ...mt, T: T() },
      layer,
      head,
      weighting: w,
      threshold: m.get("threshold") ?? 0.3,
      hideSinks: m.get("hide_sinks") === true,
      label: m.get("label") ?? "",
      loading: !entry && T() > 0,
    });
    if (!entry) {
      if (spec) requestSoon(layer, head, w, spec);
      else if (T() > 0) client.request(layer, head, w);
      // keep the last slice on screen while the new one is in flight; pooled runs draw the
      // finest cached region that covers the view (a coarser block while a zoom loads)
      const region = visible();
      const stand = spec
        ? (client.best(layer, head, w, region) ??
          (drawn?.grid && covers(drawn.grid, region) ? drawn : null))
        : drawn;
      if (stand) paint(stand, pre);
      else {
        const text =
          T() > 0 ? "Waiting for the attention slice from the kernel…" : "No tokens yet.";
        placeholder(canvas, pre.theme, pre.width, text);
      }
      return;
    }
    paint(entry, pre);
    const nHeads = mt.summary ? 0 : mt.n_heads; // summary: means only
    client.prefetch(layer, head, w, mt.n_layers, nHeads, spec);
  }

  function setHover(i: number, cell: [number, number] | null): void {
    const same =
      cell && hoverCell ? cell[0] === hoverCell[0] && cell[1] === hoverCell[1] : cell === hoverCell;
    if (i === hover && same) return;
    hover = i;
    hoverCell = cell;
    if (drawn) paint(drawn);
  }

  const unbindCanvas = bindCanvas(canvas, {
    hit: (x, y) => {
      if (arcsHit) return { i: indexAt(x, arcsHit.left, arcsHit.step, arcsHit.T), cell: null };
      const sq = matrixHit ? slotRowAt(matrixHit, x, y) : -1; // the sink slot is key T
      if (sq >= 0) return { i: -1, cell: [sq, T()] as [number, number] };
      if (crossHit) return { i: -1, cell: crossCellAt(crossHit, x, y) };
      return { i: -1, cell: matrixHit ? cellAt(matrixHit, x, y) : null };
    },
    hover: (p) => setHover(p.i, p.cell),
    selected,
    select: (v) => save("selected", v),
    count: Tq,
    drag: (from, to, done) => !queries() && zoom.drag(matrixHit, from, to, done),
    wheel: (x, y, deltaY) => !queries() && zoom.wheel(matrixHit, x, y, deltaY),
  });

  const rebuild = () => {
    client.reset();
    labels = [];
    queryLabels = undefined;
    zoom.clear();
    drawn = null;
    hover = -1;
    hoverCell = null;
    strip.setTokens(tokens());
    // the strip lists the keys: for cross-attention the encoder's tokens (queries are rows)
    stripCaption.firstChild?.replaceWith(
      queries()
        ? "Encoder tokens (the keys; pick a decoder query in the figure); "
        : "Tokens — click to select a query; ",
    );
    const mt = meta();
    grid.setScores(m.get("sink_grid") ?? [], mt.n_layers, mt.n_heads, T());
    feedSnapshot();
    redraw();
  };
  const onGrid = () => {
    const mt = meta();
    grid.setScores(m.get("sink_grid") ?? [], mt.n_layers, mt.n_heads, T());
    redraw();
  };
  const onError = () => banner.show(m.get("error") ?? "");
  const onMsg = (msg: unknown, buffers: unknown) =>
    client.handle(msg, buffers as Parameters<SliceClient["handle"]>[1]);
  const listeners: [string, () => void][] = [
    ["change:tokens", rebuild],
    ["change:meta", rebuild],
    ["change:sink_grid", onGrid],
    ["change:error", onError],
    ["change:snapshot", feedSnapshot],
  ];
  const traits = ["layer", "head", "threshold", "view", "selected", "weighting", "hide_sinks"];
  for (const name of [...traits, "label", "segment", "theme"]) {
    listeners.push([`change:${name}`, redraw]);
  }
  for (const [ev, cb] of listeners) m.on(ev, cb);
  m.on("msg:custom", onMsg);

  let frame = 0;
  let lastWidth = 0;
  const win = doc.defaultView;
  const ro =
    typeof ResizeObserver === "undefined"
      ? null
      : new ResizeObserver(() => {
          const w = figure.clientWidth;
          if (w === lastWidth || !win) return;
          lastWidth = w;
          win.cancelAnimationFrame(frame);
          // pooled runs redraw: the pixels (so the bins asked for) may have changed
          frame = win.requestAnimationFrame(() => (drawn && !pooled() ? paint(drawn) : redraw()));
        });
  ro?.observe(figure);

  onError();
  rebuild();

  return () => {
    for (const [ev, cb] of listeners) m.off(ev, cb);
    m.off("msg:custom", onMsg);
    ro?.disconnect();
    unbindCanvas();
    zoom.dispose();
    clearTimeout(soon);
    client.reset(); // its prefetch and settle timers
    win?.cancelAnimationFrame(frame);
    root.remove();
  };
}

export default { render };
