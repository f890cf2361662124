// Generation steps (pure): a run captured with max_new_tokens has P prompt tokens followed by
// n = T - P generated ones. Step s (1..n) is the forward pass that chose generated token s:
// its query is position P + s - 2 (the last position the model had then) and the token it
// chose sits at P + s - 1. Twin of the rows named in bos_widget/capture/generation.py.

/** Number of generation steps of a run (0 when nothing was generated). */
export function stepCount(promptLen: number | null | undefined, T: number): number {
  if (promptLen == null || promptLen < 1 || promptLen >= T) return 0;
  return T - promptLen;
}

/** Query row of step s (1..n). */
export function stepRow(step: number, promptLen: number): number {
  return promptLen + step - 2;
}

/** The step whose query is `row`, or 0 when `row` is no step's query (or nothing is chosen). */
export function stepOfRow(row: number, promptLen: number | null | undefined, T: number): number {
  const n = stepCount(promptLen, T);
  if (n === 0 || promptLen == null || row < 0) return 0;
  const s = row - promptLen + 2;
  return s >= 1 && s <= n ? s : 0;
}

/** What the step control says: "step 3 of 8: «is» chose «Paris»", or how many steps there are. */
export function stepText(step: number, n: number, labels: string[], promptLen: number): string {
  if (step < 1 || step > n) return `all queries · ${n} generated`;
  const q = labels[stepRow(step, promptLen)] ?? "";
  const t = labels[stepRow(step, promptLen) + 1] ?? "";
  return `step ${step} of ${n}: «${q}» chose «${t}»`;
}
