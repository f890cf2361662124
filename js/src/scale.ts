// Scale: colour parsing and sequential colour scales for the heatmap and overview grid (pure).

export type RGB = [number, number, number];

/** Parse "#rgb", "#rrggbb", "#rrggbbaa", "rgb(r, g, b)" or "rgba(r, g, b, a)"; null otherwise. */
export function parseColor(css: string): RGB | null {
  const s = css.trim().toLowerCase();
  let m = /^#([0-9a-f]{3,4})$/.exec(s);
  if (m) {
    const h = m[1];
    return [0, 1, 2].map((i) => parseInt(h[i] + h[i], 16)) as RGB;
  }
  m = /^#([0-9a-f]{6})([0-9a-f]{2})?$/.exec(s);
  if (m) {
    const h = m[1];
    return [0, 2, 4].map((i) => parseInt(h.slice(i, i + 2), 16)) as RGB;
  }
  m = /^rgba?\(\s*([\d.]+)[\s,]+([\d.]+)[\s,]+([\d.]+)/.exec(s);
  if (m) return [Number(m[1]), Number(m[2]), Number(m[3])].map(clamp255) as RGB;
  return null;
}

function clamp255(v: number): number {
  return Math.max(0, Math.min(255, Math.round(v)));
}

/** Linear mix of two colours, t in [0, 1]. */
export function mix(a: RGB, b: RGB, t: number): RGB {
  return [0, 1, 2].map((i) => a[i] + (b[i] - a[i]) * t) as RGB;
}

export function rgbCss(c: RGB, alpha = 1): string {
  const [r, g, b] = c.map(clamp255);
  return alpha >= 1 ? `rgb(${r}, ${g}, ${b})` : `rgba(${r}, ${g}, ${b}, ${alpha})`;
}

/** Relative luminance in [0, 1] (sRGB, WCAG). */
export function luminance(c: RGB): number {
  const lin = c.map((v) => {
    const s = v / 255;
    return s <= 0.04045 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2];
}

/** Piecewise-linear colour at t in [0, 1] through evenly spaced stops. */
export function rampAt(stops: RGB[], t: number): RGB {
  const x = Math.max(0, Math.min(1, Number.isFinite(t) ? t : 0)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x));
  return mix(stops[i], stops[i + 1], x - i);
}

/** A 256-entry RGBA lookup table (Uint8ClampedArray of 1024) for ImageData painting. */
export function lut(stops: RGB[]): Uint8ClampedArray {
  const out = new Uint8ClampedArray(256 * 4);
  for (let i = 0; i < 256; i++) {
    const c = rampAt(stops, i / 255);
    out.set([c[0], c[1], c[2], 255], i * 4);
  }
  return out;
}

/**
 * Sequential stops that start at the page background and grow in contrast towards the accent
 * and then the text colour, so the scale reads the same way in light and dark themes.
 */
export function sequentialStops(bg: RGB, accent: RGB, fg: RGB): RGB[] {
  return [bg, mix(bg, accent, 0.35), accent, mix(accent, fg, 0.55)];
}

/** Power scale used by the heatmap: v^gamma clamped to [0, 1] (gamma 0.5 = square root). */
export function power(v: number, gamma: number): number {
  return v <= 0 ? 0 : v >= 1 ? 1 : v ** gamma;
}

/** LUT index (0..255) of a value under the power scale. */
export function lutIndex(v: number, gamma: number): number {
  return Math.round(power(v, gamma) * 255);
}
