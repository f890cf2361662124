// anywidget entry: reads the model's traits, asks the slice client for the slice they name,
// turns both into a Scene (scene.ts) and hands it to the view (view.ts); subscribes to trait
// changes and custom messages. Wiring only.

import type { Spec } from "./cache";
import { sceneOf } from "./scene";
import { type Entry, SliceClient } from "./slices";
import { snapshotMessage } from "./snapshot";
import type { Bytes, RenderProps, Weighting, WidgetModel } from "./types";
import { type Measure, View } from "./view";
import { standIn, type ViewState, viewState, waitingText, wantSpec } from "./viewstate";

/** The traits whose change draws the view again (the slice may stay the same). */
const REDRAW_ON = [
  ...["layer", "head", "threshold", "view", "selected", "weighting", "hide_sinks"],
  ...["label", "segment", "theme"],
];

function render({ model, el: host }: RenderProps): () => void {
  const m = model as WidgetModel;
  const state = (): ViewState => viewState((name) => m.get(name));
  let drawn: Entry | null = null; // the slice on screen
  const repaint = () => drawn && paint(drawn);
  const view = new View(host, m, {
    repaint,
    zoomed: () => (state().pooled ? redraw() : repaint()), // pooled: ask for the new region
    resized: () => (drawn && !state().pooled ? paint(drawn) : redraw()), // pooled: new bins
  });
  const specOf = (s: ViewState, pre = view.measure()): Spec | null =>
    wantSpec(s, view.visible(s), pre.width, pre.ratio);
  const onSlice = (key: string) => {
    const s = state();
    const want = client.get(s.layer, s.head, s.weighting, specOf(s));
    if (want?.key === key || (s.pooled && !drawn)) redraw();
  };
  const [T, Tq] = [() => state().T, () => state().queries?.length ?? null];
  const client = new SliceClient(m, T, onSlice, (e) => view.banner.show(e), Tq);
  // pooled runs ask once a zoom or slider has settled: a wheel flick sends one request
  let soon: ReturnType<typeof setTimeout> | undefined;
  const requestSoon = (layer: number, head: number, w: Weighting, spec: Spec) => {
    clearTimeout(soon);
    soon = setTimeout(() => client.request(layer, head, w, spec), 60);
  };

  function paint(entry: Entry, pre: Measure = view.measure()): void {
    const t0 = performance.now();
    view.paint(sceneOf(view.sceneInput(state(), entry)), pre, t0);
    drawn = entry;
  }

  function redraw(): void {
    const s = state();
    const pre = view.measure(s.theme);
    view.show(s);
    const { layer, head, weighting: w, meta } = s;
    const spec = specOf(s, pre);
    const entry = s.T > 0 ? client.get(layer, head, w, spec) : undefined;
    view.header(s, !entry && s.T > 0);
    if (entry) {
      paint(entry, pre);
      client.prefetch(layer, head, w, meta.n_layers, meta.summary ? 0 : meta.n_heads, spec);
      return;
    }
    if (spec) requestSoon(layer, head, w, spec);
    else if (s.T > 0) client.request(layer, head, w);
    // keep the last slice on screen while the new one is in flight (pooled: a covering region)
    const region = view.visible(s);
    const stand = standIn(spec, spec && client.best(layer, head, w, region), drawn, region);
    if (stand) paint(stand, pre);
    else view.placeholder(waitingText(s.T), pre);
  }

  const rebuild = () => {
    client.reset();
    drawn = null;
    view.setTokens(state());
    feedSnapshot(m, client);
    redraw();
  };
  const onMsg = (msg: unknown, buffers: Bytes[]) => client.handle(msg, buffers);
  const on: Record<string, () => void> = {
    tokens: rebuild,
    meta: rebuild,
    sink_grid: () => {
      view.setScores(state());
      redraw();
    },
    error: () => view.banner.show(m.get("error") ?? ""),
    snapshot: () => feedSnapshot(m, client),
  };
  for (const name of REDRAW_ON) on[name] = redraw;
  const unsubscribe = subscribe(m, on, onMsg);
  on.error();
  rebuild();
  return () => {
    unsubscribe();
    clearTimeout(soon);
    client.reset(); // its prefetch and settle timers
    view.dispose();
  };
}

/** Call `on[name]` on every change of trait `name` and `onMsg` on custom messages. */
function subscribe(
  m: WidgetModel,
  on: Record<string, () => void>,
  onMsg: (msg: unknown, buffers: Bytes[]) => void,
): () => void {
  for (const [name, cb] of Object.entries(on)) m.on(`change:${name}`, cb);
  m.on("msg:custom", onMsg);
  return () => {
    for (const [name, cb] of Object.entries(on)) m.off(`change:${name}`, cb);
    m.off("msg:custom", onMsg);
  };
}

/** Hand the `snapshot` trait's slice (kept for kernel-less reopening) to the client once. */
function feedSnapshot(m: WidgetModel, client: SliceClient): void {
  const snap = snapshotMessage(m.get("snapshot"));
  if (!snap) return;
  const r = snap[0];
  if (client.get(Number(r.layer), Number(r.head), String(r.weighting) as Weighting)) return;
  client.handle(snap[0], snap[1]);
}

export default { render };
