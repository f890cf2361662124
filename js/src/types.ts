// Wire contract: TypeScript shapes of the synced traits and custom messages (twin of the
// Python TypedDicts in bos_widget/transport/codec.py and bos_widget/views/widget.py). Types
// only, no code.

export type Weighting = "raw" | "norm";
export type ViewMode = "arcs" | "matrix";

/** Facts about the run, set once per text by Python. */
export interface Meta {
  model: string;
  model_class: string;
  causal: boolean;
  bos_added: boolean;
  first_token: string;
  /** "self", or "cross" for a decoder's cross-attention (RunMeta.role). */
  role?: string;
  n_layers: number;
  n_heads: number;
  /** Key/value heads (grouped-query attention shares them; RunMeta.n_kv_heads, 0 unknown). */
  n_kv_heads?: number;
  T: number;
  weightings: string[];
  /** Set in summary mode: a sentence saying what was not kept (only head means are served). */
  summary?: string | null;
  /** First position of sentence B in a sentence pair (bertviz's sentence_b_start), else null. */
  segment_b_start?: number | null;
  /**
   * What the hidden state after the last layer is (RunMeta.last_hidden): "last block output
   * (before the final norm)", "last block output" (no final norm), or "" when unknown.
   */
  last_hidden?: string;
  /**
   * True above T = 2048 (slices.POOL_ABOVE_T): the matrix view asks for regions pooled to its
   * pixels; arcs, hidden sinks and segment filters (which need every value) are not offered.
   */
  pooled?: boolean;
  /**
   * Runs captured with max_new_tokens: the number of prompt tokens P; positions P.. were
   * generated (generation.ts names the steps). Absent or null when nothing was generated.
   */
  prompt_len?: number | null;
  /** Most blocks a side a pooled request asks for (slices.POOL_BINS; what the kernel warms). */
  pool_bins?: number;
  /** Learned sink logits (gpt-oss): replies carry the "sink slot" column (slot.ts). */
  sink_slot?: boolean;
  /**
   * Cross-attention runs only (role "cross"): the decoder's tokens, one per query row; the
   * `tokens` trait holds the encoder's (the keys) and slices are [query_tokens.length, T].
   */
  query_tokens?: string[];
  /** bertviz compatibility (views/compat.py): the original layer numbers of a layer subset. */
  layer_ids?: number[];
  /** bertviz compatibility (views/compat.py): the original head numbers of a head subset. */
  head_ids?: number[];
}

/** The synced traits. `head = -1` means "mean of heads"; `selected` is a token index. */
export interface Traits {
  tokens: string[];
  meta: Meta;
  /** [n_layers][n_heads]: sink score alpha[l,h,0] of position 0 (SCIENCE.md D1). */
  sink_grid: number[][];
  layer: number;
  head: number;
  threshold: number;
  view: ViewMode;
  selected: number | null;
  weighting: Weighting;
  /** Draw attention with the current sink keys' columns removed and rows renormalised. */
  hide_sinks: boolean;
  /** Shown first in the header (compare mode names its two sides with it). */
  label: string;
  /** Sentence-pair filter: "all", or query segment → key segment ("A→B", ...; segments.ts). */
  segment: string;
  /** "auto" follows the notebook's theme; "light" / "dark" force one (bertviz display_mode). */
  theme: "auto" | "light" | "dark";
  error: string;
  /** The current slice as base64 with its reply (bounded), for reopening without a kernel. */
  snapshot?: { reply: Record<string, unknown>; data: string } | Record<string, never>;
}

export type Pool = "max" | "mean";

/**
 * Browser -> Python: ask for one slice: the whole [T, T] one, or (pooled runs) the region
 * queries x keys (half-open [start, stop) ranges), each axis longer than `bins` pooled into
 * `bins` blocks by `pool` (max by default: a sink column stays visible).
 */
export interface SliceRequest {
  kind: "request";
  layer: number;
  head: number;
  weighting: Weighting;
  queries?: [number, number];
  keys?: [number, number];
  bins?: number;
  pool?: Pool;
}

/** The view has shown this whole slice for a while (the kernel keeps it as the snapshot). */
export interface Settled {
  kind: "settled";
  layer: number;
  head: number;
  weighting: Weighting;
}

/**
 * Per-token numbers of one (layer, head), 4 significant digits (twin of codec.TokenStats):
 * hidden_norm[t] = ||h_t|| of the residual stream after the layer (SCIENCE.md D5),
 * value_norm[t] = ||v_t|| in the head, or the mean over heads for head -1 (D4; null when the
 * run has no value norms), massive = tokens holding a massive activation after the layer.
 */
export interface TokenStats {
  hidden_norm: number[];
  value_norm: number[] | null;
  massive: number[];
}

export type Encoding = "float16" | "uint8";

/** Python -> browser: one slice; its bytes travel as buffers[0]. */
export interface SliceReply {
  kind: "slice";
  layer: number;
  head: number;
  weighting: Weighting;
  /** dtype of the bytes: uint8 (quantised) from T = 1024, else float16 */
  encoding: Encoding;
  /** largest absolute error of a decoded value (codec.error_bound) */
  error_bound: number;
  /** null for runs without hidden-state norms: the norms strip is hidden. */
  stats: TokenStats | null;
  /**
   * Region replies only (pooled runs): the ranges served, the blocks a side (null: every
   * position) and the pooling. The slice is [n_q, n_k] with edges binEdges(q0, q1, bins ??
   * q1 - q0) (bins.ts); buffers[1] holds float16 [T]: every key's D1 sink score.
   */
  queries?: [number, number];
  keys?: [number, number];
  bins?: number | null;
  pool?: Pool;
  /** Learned sink logits only: index of the buffer of float16 p_sink per row served, and the
   * slot's score (mean p_sink over every query; 0 when norm-weighted). See slot.ts. */
  sink_slot?: number;
  slot_alpha?: number;
}

/** Python -> browser: a request could not be served. */
export interface ErrorReply {
  kind: "error";
  message: string;
}

export type ServerMessage = SliceReply | ErrorReply;

/** A decoded array: row-major float32 data with its shape. */
export interface Decoded {
  shape: number[];
  data: Float32Array;
}

/** Bytes as they may arrive from a widget manager. */
export type Bytes = ArrayBuffer | ArrayBufferView;

// Any function: used by off(), which accepts every callback that on() accepted.
// biome-ignore lint/suspicious/noExplicitAny: callbacks of any signature are accepted here
type AnyFn = (...args: any[]) => void;

/** The subset of the anywidget model API the view uses. */
export interface WidgetModel {
  get<K extends keyof Traits>(name: K): Traits[K];
  set<K extends keyof Traits>(name: K, value: Traits[K]): void;
  save_changes(): void;
  on(event: "msg:custom", cb: (msg: unknown, buffers: Bytes[]) => void): void;
  on(event: string, cb: () => void): void;
  off(event?: string | null, cb?: AnyFn | null): void;
  send(content: SliceRequest | Settled, callbacks?: unknown, buffers?: ArrayBuffer[]): void;
}

/** What anywidget passes to render(). */
export interface RenderProps {
  model: WidgetModel;
  el: HTMLElement;
}
