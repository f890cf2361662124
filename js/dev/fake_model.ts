// Dev harness: an in-page stand-in for the Python side (a StandInModel, as in the exported
// page) that synthesises attention (most heads sink on token 0, some local/diagonal/previous-
// token, early layers diffuse), answers slice requests with BOSW bytes after a short latency,
// and renders the real widget. URL parameters: T, view, theme=dark, causal=0, views=2, latency.

import { encode } from "../src/codec";
import widget from "../src/index";
import { sinkScores } from "../src/sinks";
import { StandInModel } from "../src/standin";
import type { Meta, RenderProps, Settled, SliceRequest, Traits } from "../src/types";

type Kind = "sink" | "local" | "diag" | "prev" | "diffuse";

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = [
  ..."The Ġcat Ġsat Ġon Ġthe".split(" "),
  "<img src=x onerror=alert(1)>", // hostile token: must show as text
  ..."Ġmat Ġbecause Ġit Ġwas Ġwarm . Ċ It Ġpurred Ġquietly Ġwhile Ġthe Ġrain".split(" "),
  ..."Ġkept Ġfalling Ġoutside , Ġand Ġnobody Ġminded Ġat Ġall .".split(" "),
];

const qs = new URLSearchParams(location.search);

function makeTokens(T: number, causal: boolean): string[] {
  const out: string[] = causal ? [] : ["[CLS]"];
  for (let i = 0; out.length < (causal ? T : T - 1); i++) out.push(WORDS[i % WORDS.length]);
  if (!causal) out.push("[SEP]");
  return out;
}

interface HeadSpec {
  kind: Kind;
  s: number; // weight on key 0 (sink)
  sEnd: number; // weight on the last key (bidirectional [SEP])
  d: number; // weight on self
  p: number; // weight on previous token
  r: number; // decay of the local part
}

function spec(l: number, h: number, causal: boolean): HeadSpec {
  const u = rng(l * 97 + h * 13 + 7);
  const v = u();
  let kind: Kind = "sink";
  if (l < 2) kind = v < 0.5 ? "diffuse" : "local";
  else if (v < 0.1) kind = "diag";
  else if (v < 0.18) kind = "prev";
  else if (v < 0.24) kind = "local";
  const sink = kind === "sink" ? 0.45 + 0.5 * u() : kind === "diffuse" ? 0.05 : 0.02 + 0.1 * u();
  return {
    kind,
    s: sink,
    sEnd: causal ? 0 : kind === "sink" ? 0.15 * u() : 0,
    d: kind === "diag" ? 0.6 : 0.03,
    p: kind === "prev" ? 0.7 : 0.02,
    r: kind === "diffuse" ? 0.97 : 0.55 + 0.3 * u(),
  };
}

/** One [T, T] head slice; rows sum to 1; causal zeros above the diagonal. */
function headSlice(l: number, h: number, T: number, causal: boolean, tokens: string[]) {
  const sp = spec(l, h, causal);
  const m = tokens.map((t) => (/[.,Ċ]/.test(t) ? 4 : 1)); // punctuation draws extra weight
  const A = new Float32Array(T * T);
  for (let q = 0; q < T; q++) {
    const hi = causal ? q : T - 1;
    let z = 0;
    for (let k = 0; k <= hi; k++) z += sp.r ** Math.abs(q - k) * m[k];
    const rest = Math.max(0, 1 - sp.s - sp.sEnd - sp.d - (q > 0 ? sp.p : 0));
    const row = q * T;
    for (let k = 0; k <= hi; k++) A[row + k] = (rest * sp.r ** Math.abs(q - k) * m[k]) / z;
    A[row] += sp.s;
    A[row + hi] += sp.sEnd;
    A[row + q] += sp.d;
    if (q > 0) A[row + q - 1] += sp.p;
    let sum = 0;
    for (let k = 0; k <= hi; k++) sum += A[row + k];
    for (let k = 0; k <= hi; k++) A[row + k] /= sum;
  }
  return A;
}

function normWeighted(A: Float32Array, T: number): Float32Array {
  const out = new Float32Array(A.length);
  const u = rng(99);
  const vn = Array.from({ length: T }, (_, k) => (k === 0 ? 0.12 : 0.8 + 0.4 * u()));
  for (let q = 0; q < T; q++) {
    let z = 0;
    for (let k = 0; k < T; k++) z += A[q * T + k] * vn[k];
    for (let k = 0; k < T; k++) out[q * T + k] = z > 0 ? (A[q * T + k] * vn[k]) / z : 0;
  }
  return out;
}

export class FakeModel extends StandInModel {
  readonly sent: SliceRequest[] = [];

  constructor(
    state: Traits,
    private readonly latency: number,
  ) {
    super(state);
  }

  send(content: SliceRequest | Settled): void {
    if (content.kind !== "request") return;
    this.sent.push(content);
    setTimeout(() => this.reply(content), this.latency);
  }

  /** The Python side: compute one slice and send it, as SliceServer.reply does. */
  reply({ layer, head, weighting }: Omit<SliceRequest, "kind">): void {
    const { T, causal, n_heads } = this.state.meta;
    if (layer < 0 || layer >= this.state.meta.n_layers) {
      this.emit("msg:custom", { kind: "error", message: `No layer ${layer}.` }, []);
      return;
    }
    let A: Float32Array;
    if (head >= 0) A = headSlice(layer, head, T, causal, this.state.tokens);
    else {
      A = new Float32Array(T * T);
      for (let h = 0; h < n_heads; h++) {
        const S = headSlice(layer, h, T, causal, this.state.tokens);
        for (let i = 0; i < A.length; i++) A[i] += S[i] / n_heads;
      }
    }
    if (weighting === "norm") A = normWeighted(A, T);
    // as the Python side does: uint8 from T = 1024, causal slices as their lower triangle
    const encoding = T >= 1024 ? "uint8" : "float16";
    const bytes = encode([T, T], A, encoding, causal);
    const bound = encoding === "uint8" ? 1 / 255 / 2 : 2 ** -11;
    const msg = {
      kind: "slice",
      layer,
      head,
      weighting,
      encoding,
      error_bound: bound,
      stats: null,
    };
    this.emit("msg:custom", msg, [new DataView(bytes)]);
  }
}

export function makeState(T: number, causal: boolean, view: "arcs" | "matrix"): Traits {
  const L = 30;
  const H = 9;
  const tokens = makeTokens(T, causal);
  const grid: number[][] = [];
  for (let l = 0; l < L; l++) {
    grid.push([]);
    for (let h = 0; h < H; h++)
      grid[l].push(sinkScores(headSlice(l, h, T, causal, tokens), T, causal)[0]);
  }
  const meta: Meta = {
    model: causal ? "synthetic-decoder (SmolLM2-shaped)" : "synthetic-encoder (BERT-shaped)",
    model_class: causal ? "FakeCausalLM" : "FakeBertModel",
    causal,
    bos_added: !causal,
    first_token: tokens[0],
    n_layers: L,
    n_heads: H,
    T,
    weightings: ["raw", "norm"],
  };
  return {
    tokens,
    meta,
    sink_grid: grid,
    layer: Number(qs.get("layer") ?? 5),
    head: Number(qs.get("head") ?? -1),
    threshold: 0.3,
    view,
    selected: null,
    weighting: "raw",
    hide_sinks: false,
    segment: "all",
    theme: "auto",
    label: "",
    error: "",
  };
}

declare global {
  interface Window {
    bosw: { models: FakeModel[]; cleanups: (() => void)[]; ready: boolean };
  }
}

const T = Number(qs.get("T") ?? 24);
const causal = qs.get("causal") !== "0";
const view = (qs.get("view") ?? (T > 100 ? "matrix" : "arcs")) as "arcs" | "matrix";
if (qs.get("theme") === "dark") document.body.classList.add("dark");
const nViews = Number(qs.get("views") ?? 1);
const nModels = Number(qs.get("models") ?? 1);
const latency = Number(qs.get("latency") ?? 30);
const app = document.getElementById("app") as HTMLElement;
window.bosw = { models: [], cleanups: [], ready: false };
for (let i = 0; i < nModels; i++) {
  const model = new FakeModel(makeState(T, causal, view), latency);
  window.bosw.models.push(model);
  for (let v = 0; v < nViews; v++) {
    const el = document.createElement("div");
    el.className = "cell";
    app.appendChild(el);
    window.bosw.cleanups.push(widget.render({ model, el } as RenderProps));
  }
}
window.bosw.ready = true;
