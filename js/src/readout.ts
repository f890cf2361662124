// Readout: the numbers shown under the figure (sinks with their scores and the number of
// queries each score averages over, share of attention on sinks, kept top-p mass, and the
// weights of the focused query or hovered cell). Pure.

import { binOf } from "./bins";
import { type Piece, pct } from "./header";
import type { Pruned } from "./prune";
import { alphaText, sinkList, sinkMask } from "./sinks";
import { SLOT_LABEL, type Slot, slotAlphaText, slotIsSink, slotLine } from "./slot";
import { displayToken } from "./tokens";

export interface ReadoutInput {
  tokens: string[];
  alpha: ArrayLike<number>;
  causal: boolean;
  eps: number;
  share: number;
  view: "arcs" | "matrix";
  pruned: Pruned | null;
  topP: number;
  focus: number;
  hoverCell: [number, number] | null;
  data: Float32Array;
  T: number;
  /** cross-attention: the decoder queries (rows of `data`, which is [Tq, T]; keys = tokens) */
  queryTokens?: string[] | null;
  /** a pooled slice: `data` holds [rows.length - 1, cols.length - 1] cells on these edges */
  grid?: { rows: Int32Array; cols: Int32Array; pool: string } | null;
  aggregatedBlock: number;
  /** set when sinks are hidden: rows left empty and mean row mass removed */
  hidden: { emptyRows: number; removed: number } | null;
  /**
   * Learned sink logits (meta.sink_slot): the slice's sink slot (null when the reply carried
   * none) and the weighting; key index T then names the slot. Absent for other models.
   */
  slot?: { slot: Slot | null; weighting: string } | null;
}

const tok = (tokens: string[], i: number) => `#${i} “${displayToken(tokens[i] ?? "")}”`;

export function readoutLines(r: ReadoutInput): Piece[][] {
  const sinks = sinkList(r.alpha, r.eps, r.causal);
  const mask = sinkMask(r.alpha, r.eps, r.causal);
  // a key's name, highlighted when it is a sink; its score with the queries it averages over
  const slot = r.slot?.slot ?? null;
  const slotSink = slotIsSink(slot, r.eps);
  const name = (k: number) => (k === r.T ? SLOT_LABEL : tok(r.tokens, k));
  const key = (k: number): Piece =>
    (k === r.T ? slotSink : mask[k]) ? { sink: name(k) } : name(k);
  const queries = r.queryTokens ?? r.tokens; // cross-attention: α averages over Tq queries
  const Tq = r.queryTokens ? r.queryTokens.length : r.T;
  const alpha = (k: number) =>
    k === r.T && slot
      ? slotAlphaText(slot, r.T)
      : r.queryTokens
        ? alphaText(r.alpha[k], 0, Tq, false)
        : alphaText(r.alpha[k], k, r.T, r.causal);
  // the slot is a key of its own: listed among the sinks, by score, when above the threshold
  if (slot && slotSink) {
    const at = sinks.findIndex((k) => r.alpha[k] < slot.alpha);
    sinks.splice(at < 0 ? sinks.length : at, 0, r.T);
  }
  const first: Piece[] = [`Sink keys (α > ε = ${r.eps.toFixed(2)}): `];
  if (!sinks.length) first.push("none");
  sinks.slice(0, 6).forEach((k, j) => {
    if (j) first.push(", ");
    first.push({ sink: name(k) }, ` ${alpha(k)}`);
  });
  if (sinks.length > 6) first.push(` and ${sinks.length - 6} more`);
  first.push(` · share of this head's attention on sinks: ${pct(r.share)}`);
  const lines: Piece[][] = [first];
  if (r.slot) lines.push([slotLine(slot, r.eps, r.slot.weighting, r.hidden !== null)]);
  const hid = r.hidden
    ? `Sinks hidden, rows renormalised (removed ${pct(r.hidden.removed)} of the mass; ` +
      `${r.hidden.emptyRows} row${r.hidden.emptyRows === 1 ? "" : "s"} left empty) · `
    : "";

  if (r.view === "arcs" && r.pruned) {
    lines.push([
      hid +
        `Arcs: per query the largest weights up to ${r.topP.toFixed(2)} of its mass ` +
        `(mean kept ${pct(r.pruned.meanKept)}); hover or click a token for its weights.`,
    ]);
  } else if (r.view === "matrix") {
    const agg =
      r.aggregatedBlock > 1
        ? `; each pixel shows the max of ~${r.aggregatedBlock}×${r.aggregatedBlock} cells`
        : "";
    lines.push([
      `${hid}Matrix: rows are queries, columns keys; colour = A[q,k] on a √ scale${agg}.`,
    ]);
  }

  const g = r.grid;
  if (r.hoverCell && r.hoverCell[1] === r.T) {
    const q = r.hoverCell[0];
    const v = slot ? slot.values[g ? binOf(g.rows, q) : q] : undefined;
    const pooled = g && g.rows[binOf(g.rows, q) + 1] - g.rows[binOf(g.rows, q)] > 1;
    const what = pooled ? `${g?.pool} of p_sink over a block of queries` : "p_sink";
    lines.push([
      `${what} [q=${tok(r.tokens, q)}] = ${v === undefined ? "?" : v.toFixed(3)} on the `,
      key(r.T),
      ` (learned sink logit, not a token)${slot ? ` · ${alpha(r.T)}` : ""}`,
    ]);
  } else if (r.hoverCell && g) {
    const [q, k] = r.hoverCell;
    const [i, j] = [binOf(g.rows, q), binOf(g.cols, k)];
    const v = r.data[i * (g.cols.length - 1) + j].toFixed(3);
    const [qa, qb, ka, kb] = [g.rows[i], g.rows[i + 1] - 1, g.cols[j], g.cols[j + 1] - 1];
    const exact = qa === qb && ka === kb;
    const range = (a: number, b: number) => (a === b ? `#${a}` : `#${a}–${b}`);
    lines.push(
      exact
        ? [`A[q=${tok(queries, q)}, k=`, key(k), `] = ${v} · key #${k}: ${alpha(k)}`]
        : [
            `${g.pool} of A over queries ${range(qa, qb)}, keys ${range(ka, kb)} = ${v} ` +
              `(zoom in for single tokens) · key #${k}: ${alpha(k)}`,
          ],
    );
  } else if (r.hoverCell) {
    const [q, k] = r.hoverCell;
    lines.push([
      `A[q=${tok(queries, q)}, k=`,
      key(k),
      `] = ${r.data[q * r.T + k].toFixed(3)} · key #${k}: ${alpha(k)}`,
    ]);
  } else if (r.focus >= 0 && r.focus < Tq && r.pruned) {
    const line: Piece[] = [`Query ${tok(queries, r.focus)} attends to: `];
    let n = 0;
    for (let i = 0; i < r.pruned.q.length; i++) {
      if (r.pruned.q[i] !== r.focus) continue;
      const k = r.pruned.k[i];
      if (n++) line.push(", ");
      line.push(key(k), ` ${r.pruned.w[i].toFixed(2)}`);
    }
    const asKey = r.queryTokens ? "" : ` · as a key: ${alpha(r.focus)}`; // not a key in cross
    line.push(` (kept mass ${pct(r.pruned.kept[r.focus])})${asKey}`);
    lines.push(line);
  }
  return lines;
}
