// Canvas interaction: hover and click on the main canvas, arrow keys / Home / End / Escape to
// move or clear the selected token, and (when the view takes them) drags and Ctrl/Alt + wheel
// steps for zooming. nextSelection is pure; bindCanvas returns its unbinder.

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
  /**
   * A drag from `from` to `to` (canvas px), `done` on release; return false when the view
   * does not take drags (then the press is an ordinary click).
   */
  drag?(from: [number, number], to: [number, number], done: boolean): boolean;
  /** A wheel step at (x, y) with Ctrl, Cmd or Alt held; true when the view zoomed. */
  wheel?(x: number, y: number, deltaY: number): boolean;
}

/** Pointer travel (px) after which a press becomes a drag rather than a click. */
export const DRAG_PX = 5;

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
  const xy = (e: MouseEvent): [number, number] => {
    const r = canvas.getBoundingClientRect();
    return [e.clientX - r.left, e.clientY - r.top];
  };
  const at = (e: MouseEvent): Hit => h.hit(...xy(e));
  const doc = canvas.ownerDocument;
  let start: [number, number] | null = null;
  let dragging = false;
  let swallowClick = false;
  const onMove = (e: MouseEvent) => {
    if (start && e.buttons & 1 && h.drag) {
      const p = xy(e);
      if (!dragging && Math.hypot(p[0] - start[0], p[1] - start[1]) >= DRAG_PX) {
        dragging = h.drag(start, p, false);
        if (!dragging) start = null;
      } else if (dragging) h.drag(start, p, false);
      if (dragging) return;
    }
    h.hover(at(e));
  };
  const onUp = (e: MouseEvent) => {
    doc.removeEventListener("mouseup", onUp);
    if (start && dragging && h.drag) {
      h.drag(start, xy(e), true);
      swallowClick = true; // the click that ends a drag selects nothing
      setTimeout(() => {
        swallowClick = false;
      }, 0);
    }
    start = null;
    dragging = false;
  };
  const onDown = (e: MouseEvent) => {
    if (e.button !== 0 || !h.drag) return;
    start = xy(e);
    dragging = false;
    doc.addEventListener("mouseup", onUp);
  };
  const onWheel = (e: WheelEvent) => {
    if (!(e.ctrlKey || e.metaKey || e.altKey) || !h.wheel) return;
    if (h.wheel(...xy(e), e.deltaY)) e.preventDefault();
  };
  const onLeave = () => {
    if (!dragging) h.hover({ i: -1, cell: null });
  };
  const onClick = (e: MouseEvent) => {
    if (swallowClick) {
      swallowClick = false;
      return;
    }
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
  canvas.addEventListener("mousedown", onDown);
  canvas.addEventListener("wheel", onWheel, { passive: false });
  return () => {
    doc.removeEventListener("mouseup", onUp);
    canvas.removeEventListener("mousedown", onDown);
    canvas.removeEventListener("wheel", onWheel);
    canvas.removeEventListener("mousemove", onMove);
    canvas.removeEventListener("mouseleave", onLeave);
    canvas.removeEventListener("click", onClick);
    canvas.removeEventListener("keydown", onKey);
  };
}
