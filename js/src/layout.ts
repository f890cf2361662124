// Layout: token x positions, label thinning and arc geometry for the arc view (pure, no DOM).

export interface Strip {
  /** x (CSS px) of each token's anchor. */
  xs: Float64Array;
  /** distance between neighbouring anchors. */
  step: number;
  /** draw a label every `every` tokens (1 = all). */
  every: number;
  /** label rotation in radians (0 = horizontal, negative = rising to the right). */
  angle: number;
}

/**
 * Place T tokens evenly on [left, right]. `labelWidth` is the widest label in px, `lineH`
 * the text line height; labels stay horizontal when they fit, else tilt 45 degrees, else
 * stand vertical and are thinned so none overlap.
 */
export function stripLayout(
  T: number,
  left: number,
  right: number,
  labelWidth: number,
  lineH: number,
): Strip {
  const step = T > 0 ? (right - left) / T : 0;
  const xs = new Float64Array(T);
  for (let i = 0; i < T; i++) xs[i] = left + (i + 0.5) * step;
  if (step >= labelWidth + 6) return { xs, step, every: 1, angle: 0 };
  if (step >= lineH * Math.SQRT2) return { xs, step, every: 1, angle: -Math.PI / 4 };
  const every = step > 0 ? Math.max(1, Math.ceil((lineH + 1) / step)) : 1;
  return { xs, step, every: niceEvery(every), angle: -Math.PI / 2 };
}

/** Round a thinning factor up to 1, 2, 5, 10, 20, 50, ... so labelled indices are round. */
export function niceEvery(n: number): number {
  if (n <= 1) return 1;
  let m = 1;
  for (;;) {
    for (const f of [1, 2, 5]) if (f * m >= n) return f * m;
    m *= 10;
  }
}

/** Vertical extent a rotated label of width w occupies below its anchor. */
export function labelDrop(w: number, lineH: number, angle: number): number {
  return Math.abs(Math.sin(angle)) * w + Math.abs(Math.cos(angle)) * lineH;
}

/** Index of the token whose slot contains x, or -1 when x is outside the strip. */
export function indexAt(x: number, left: number, step: number, T: number): number {
  if (step <= 0) return -1;
  const i = Math.floor((x - left) / step);
  return i >= 0 && i < T ? i : -1;
}

/** A quadratic Bezier from (x0, y0) through control (cx, cy) to (x1, y0); apex at (ax, ay). */
export interface Arc {
  x0: number;
  x1: number;
  y0: number;
  cx: number;
  cy: number;
  ax: number;
  ay: number;
}

/**
 * Arc from a query at xq to a key at xk on a baseline y0. The apex height grows with the
 * distance (span = full strip width) up to maxH; `dir` = -1 draws above the baseline, +1 below.
 */
export function arcGeometry(
  xq: number,
  xk: number,
  y0: number,
  span: number,
  maxH: number,
  dir: -1 | 1,
): Arc {
  const d = Math.abs(xq - xk);
  const h = span > 0 ? Math.min(maxH, maxH * (d / span) ** 0.6) : 0;
  const cx = (xq + xk) / 2;
  // a quadratic Bezier reaches half of its control offset at t = 0.5
  return { x0: xq, x1: xk, y0, cx, cy: y0 + dir * 2 * h, ax: cx, ay: y0 + dir * h };
}

/** Truncate a label to at most `max` characters (code points), adding an ellipsis. */
export function truncate(s: string, max: number): string {
  const cps = Array.from(s);
  return cps.length <= max ? s : `${cps.slice(0, max - 1).join("")}…`;
}
