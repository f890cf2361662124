// Corpus overview, pure helpers: readout and caption strings, and keyboard moves on the
// layer x head grid. No DOM; unit-tested in js/test/corpus.test.ts.

export interface CorpusMeta {
  model: string;
  n: number;
  n_layers: number;
  n_heads: number;
  T: string;
  bos_added: boolean;
  alpha: string;
  interval: string;
  can_open: boolean;
}

export function fmt(x: number): string {
  return Number.isFinite(x) ? x.toFixed(2) : "n/a";
}

/** "layer 3, head 2: mean α₀ = 0.62 [0.58, 0.66] over n = 120 texts". */
export function cellText(l: number, h: number, mean: number, lo: number, hi: number, n: number) {
  return `layer ${l}, head ${h}: mean α₀ = ${fmt(mean)} [${fmt(lo)}, ${fmt(hi)}] over n = ${n} texts`;
}

/** What the figure is: model, n, T, first position, α definition, interval. */
export function captionText(m: CorpusMeta): string {
  const first = m.bos_added
    ? "a BOS/[CLS] token was added at position 0"
    : "no BOS added: position 0 is each text's first word";
  return `${m.model} · n = ${m.n} texts · T = ${m.T} · ${first} · colour: mean over texts of ${m.alpha} · interval: ${m.interval}`;
}

/** One strip cell's label: text index, its α₀ at the selected head, and its opening words. */
export function stripText(i: number, alpha: number, label: string): string {
  return `text ${i}: α₀ = ${fmt(alpha)} — ${label}`;
}

/** Arrow keys move (layer, head) within the grid (layers run across, heads down). */
export function moveCell(
  key: string,
  layer: number,
  head: number,
  nLayers: number,
  nHeads: number,
): [number, number] | null {
  const clamp = (v: number, n: number) => Math.max(0, Math.min(n - 1, v));
  switch (key) {
    case "ArrowLeft":
      return [clamp(layer - 1, nLayers), head];
    case "ArrowRight":
      return [clamp(layer + 1, nLayers), head];
    case "ArrowUp":
      return [layer, clamp(head - 1, nHeads)];
    case "ArrowDown":
      return [layer, clamp(head + 1, nHeads)];
    case "Home":
      return [0, head];
    case "End":
      return [nLayers - 1, head];
    default:
      return null;
  }
}
