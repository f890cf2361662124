// Canvas interaction: hover and click on the main canvas, arrow keys / Home / End / Escape to
// move or clear the selected token. nextSelection is pure; bindCanvas returns its unbinder.

export interface Hit {
  /** token under the pointer in the arc view, -1 if none */
  i: number;
  /** [query, key] under the pointer in the matrix view */
  cell: [number, number] | null;
}

export interface CanvasHooks {
  hit(x: number, y: number): Hit;
  hover(hit: Hit): void;
  /** current selection, -1 for none */
  selected(): number;
  select(value: number | null): void;
  count(): number;
}

/** Selection after a key press; undefined when the key does not move the selection. */
export function nextSelection(key: string, sel: number, n: number): number | null | undefined {
  if (n <= 0) return undefined;
  if (key === "ArrowLeft" || key === "ArrowUp") return sel < 0 ? 0 : Math.max(0, sel - 1);
  if (key === "ArrowRight" || key === "ArrowDown") return sel < 0 ? 0 : Math.min(n - 1, sel + 1);
  if (key === "Home") return 0;
  if (key === "End") return n - 1;
  if (key === "Escape") return null;
  return undefined;
}

export function bindCanvas(canvas: HTMLCanvasElement, h: CanvasHooks): () => void {
  const at = (e: MouseEvent): Hit => {
    const r = canvas.getBoundingClientRect();
    return h.hit(e.clientX - r.left, e.clientY - r.top);
  };
  const onMove = (e: MouseEvent) => h.hover(at(e));
  const onLeave = () => h.hover({ i: -1, cell: null });
  const onClick = (e: MouseEvent) => {
    const p = at(e);
    const i = p.cell ? p.cell[0] : p.i;
    if (i >= 0) h.select(h.selected() === i ? null : i);
  };
  const onKey = (e: KeyboardEvent) => {
    const next = nextSelection(e.key, h.selected(), h.count());
    if (next === undefined) return;
    e.preventDefault();
    h.select(next);
  };
  canvas.addEventListener("mousemove", onMove);
  canvas.addEventListener("mouseleave", onLeave);
  canvas.addEventListener("click", onClick);
  canvas.addEventListener("keydown", onKey);
  return () => {
    canvas.removeEventListener("mousemove", onMove);
    canvas.removeEventListener("mouseleave", onLeave);
    canvas.removeEventListener("click", onClick);
    canvas.removeEventListener("keydown", onKey);
  };
}
