// View state (pure): the traits a view reads, with their defaults, and what follows from them
// alone: the controls' and header's state, the region and pooled spec to ask for, what to
// draw while a slice is in flight, a saved figure's name. index.ts and view.ts read it; no DOM.

import { poolBins } from "./bins";
import type { Spec } from "./cache";
import type { ControlState } from "./controls";
import { queryTokensOf } from "./cross";
import { MAX_SIDE } from "./draw/matrix";
import type { HeaderState } from "./header";
import type { FigureName } from "./save";
import { covers, type Entry, specFor } from "./slices";
import type { Meta, Traits, ViewMode, Weighting } from "./types";
import type { Region } from "./zoom";

export const EMPTY_META: Meta = {
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

/** The traits a view reads, with the defaults filled in. */
export interface ViewState {
  meta: Meta;
  tokens: string[];
  /** keys; also the queries, except for cross-attention */
  T: number;
  /** cross-attention: the decoder's tokens (the queries, rows); `tokens` are the keys */
  queries: string[] | null;
  layer: number;
  head: number;
  weighting: Weighting;
  threshold: number;
  view: ViewMode;
  /** the selected query, -1 for none */
  selected: number;
  hideSinks: boolean;
  segment: string;
  label: string;
  theme: string;
  /** long input: regions pooled to the pixels (meta.pooled) */
  pooled: boolean;
  sinkGrid: number[][];
}

/** The view's state from the model's traits (`get` is the model's get). */
export function viewState(get: <K extends keyof Traits>(name: K) => Traits[K]): ViewState {
  const meta: Meta = { ...EMPTY_META, ...(get("meta") ?? {}) };
  const tokens = get("tokens") ?? [];
  return {
    meta,
    tokens,
    T: meta.T || tokens.length,
    queries: queryTokensOf(meta),
    layer: get("layer"),
    head: get("head"),
    weighting: get("weighting") ?? "raw",
    threshold: get("threshold") ?? 0.3,
    view: get("view"),
    selected: get("selected") ?? -1,
    hideSinks: get("hide_sinks") === true,
    segment: get("segment") ?? "all",
    label: get("label") ?? "",
    theme: get("theme") || "auto", // display_mode of head_view / model_view
    pooled: meta.pooled === true,
    sinkGrid: get("sink_grid") ?? [],
  };
}

/** The region on screen: cross-attention shows its whole [Tq, T] slice (no zoom). */
export function visibleRegion(s: ViewState, zoom: Region): Region {
  return s.queries ? { q0: 0, q1: s.queries.length, k0: 0, k1: s.T } : zoom;
}

/**
 * Pooled runs: the visible region, pooled to the matrix's device pixels (a power of two, at
 * most meta.pool_bins a side); exact once the region is no longer than that. Else null.
 */
export function wantSpec(s: ViewState, region: Region, width: number, ratio: number): Spec | null {
  if (!s.pooled || s.T === 0) return null;
  const side = Math.max(60, Math.min(MAX_SIDE, width - 126)) * ratio; // matrix.ts margins
  return specFor(region, poolBins(side, s.meta.pool_bins ?? 1024));
}

/**
 * What to draw while the slice asked for is in flight: the last slice drawn; pooled runs draw
 * the finest cached region that covers the view (`best`), or a coarser block already drawn.
 */
export function standIn(
  spec: Spec | null,
  best: Entry | null | undefined,
  drawn: Entry | null,
  region: Region,
): Entry | null {
  if (!spec) return drawn;
  return best ?? (drawn?.grid && covers(drawn.grid, region) ? drawn : null);
}

/** The canvas's words when there is no slice to draw at all. */
export const waitingText = (T: number) =>
  T > 0 ? "Waiting for the attention slice from the kernel…" : "No tokens yet.";

/** The strip caption's first words: the strip lists keys (cross-attention: the encoder's). */
export const stripCaptionText = (s: ViewState) =>
  s.queries
    ? "Encoder tokens (the keys; pick a decoder query in the figure); "
    : "Tokens — click to select a query; ";

/** The sliders and toggles. */
export function controlState(s: ViewState): ControlState {
  return {
    layer: s.layer,
    head: s.head,
    threshold: s.threshold,
    view: s.view,
    weighting: s.weighting,
    hideSinks: s.hideSinks,
    nLayers: s.meta.n_layers,
    nHeads: s.meta.n_heads,
    weightings: s.meta.weightings,
    headLocked: Boolean(s.meta.summary),
    pooled: s.pooled,
  };
}

/** The header; `loading` while the slice asked for is in flight. */
export function headerState(s: ViewState, loading: boolean): HeaderState {
  const { layer, head, weighting, threshold, hideSinks, label } = s;
  return {
    meta: { ...s.meta, T: s.T },
    layer,
    head,
    weighting,
    threshold,
    hideSinks,
    label,
    loading,
  };
}

/** What a saved figure's file name says. */
export function figureName(s: ViewState): FigureName {
  const model = s.queries ? `${s.meta.model.slice(0, 34)}_cross` : s.meta.model;
  const view = s.view === "matrix" ? "matrix" : "arcs";
  return { model, layer: s.layer, head: s.head, weighting: s.weighting, view };
}
