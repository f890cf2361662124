// Tokens: readable token text (displayToken, pure), which tokens the strip shows for long
// texts (stripWindow, pure) and the clickable token strip (DOM), at most MAX_STRIP tokens.
// Token text is data: it is only ever written with textContent, never parsed as markup.

/**
 * Make a token readable, the twin of Python's tokens.readable (shared cases:
 * tests/fixtures/tokens.json): every space becomes ␣ (leading, interior or trailing: all are
 * characters of the token), newlines ↵, tabs ⇥, carriage returns ␍; an empty token shows as ∅.
 * Vocabulary markers (Ġ, ▁, Ċ) are left alone: the kernel already decoded them
 * (tokens.display_tokens), and on decoded text they are letters (Maltese "Ġ", "Ċ").
 */
export function displayToken(tok: string): string {
  if (tok.length === 0) return "∅";
  const s = tok.replace(WHITESPACE, (c) => WHITESPACE_MARKS[c] ?? c);
  return s.replace(INVISIBLE, (c) => `⟨U+${c.charCodeAt(0).toString(16).toUpperCase()}⟩`);
}

const WHITESPACE_MARKS: Record<string, string> = { " ": "␣", "\n": "↵", "\t": "⇥", "\r": "␍" };
const WHITESPACE = /[ \n\t\r]/g;

/**
 * Characters that would reorder or hide text: bidi embeddings, overrides and isolates, marks,
 * zero-width spaces and joiners, the BOM. Shown as visible code points so that a token can
 * neither spoof its neighbours ("\u202Eevil" reading "live") nor look empty.
 */
const INVISIBLE = /[\u200B-\u200F\u202A-\u202E\u2060-\u2069\uFEFF]/g;

/** Most tokens the strip renders; longer texts show a window and the sinks. */
export const MAX_STRIP = 300;

export interface StripWindow {
  /** token indices to render, ascending */
  indices: number[];
  /** the contiguous window [start, end) */
  start: number;
  end: number;
  /** sink tokens outside the window that are rendered too */
  extraSinks: number;
  /** sink tokens outside the window left out (more than max / 4 of them) */
  hiddenSinks: number;
}

/**
 * Which tokens to render out of T: all when T <= max; else a window of consecutive tokens
 * centred on `center` (the selected query; the start of the text when -1) plus the sink
 * tokens (up to max / 4 of them, in text order) outside it.
 */
export function stripWindow(
  T: number,
  center: number,
  sinks: ArrayLike<number>,
  max = MAX_STRIP,
): StripWindow {
  if (T <= max) {
    return { indices: Array.from({ length: T }, (_, i) => i), start: 0, end: T, ...NONE };
  }
  const sinkIdx: number[] = [];
  for (let i = 0; i < T; i++) if (sinks[i]) sinkIdx.push(i);
  const cap = Math.floor(max / 4);
  const c = Math.max(center, 0);
  let size = max - Math.min(cap, sinkIdx.length);
  let start = 0;
  let end = 0;
  let outside: number[] = [];
  for (;;) {
    // the window grows when sinks it swallowed leave room (terminates: size only grows)
    start = Math.max(0, Math.min(T - size, c - Math.floor(size / 2)));
    end = start + size;
    outside = sinkIdx.filter((i) => i < start || i >= end);
    const want = max - Math.min(cap, outside.length);
    if (want <= size) break;
    size = want;
  }
  const extra = outside.slice(0, Math.max(0, max - size));
  const indices = [...extra.filter((i) => i < start)];
  for (let i = start; i < end; i++) indices.push(i);
  indices.push(...extra.filter((i) => i >= end));
  return {
    indices,
    start,
    end,
    extraSinks: extra.length,
    hiddenSinks: outside.length - extra.length,
  };
}

const NONE = { extraSinks: 0, hiddenSinks: 0 };

/** The note above a windowed strip (empty when every token is shown). */
export function stripNote(w: StripWindow, T: number): string {
  if (w.indices.length >= T) return "";
  const sinks = w.extraSinks
    ? ` and ${w.extraSinks} sink token${w.extraSinks === 1 ? "" : "s"}`
    : "";
  const left = w.hiddenSinks ? ` (${w.hiddenSinks} more sinks not listed)` : "";
  return (
    `Showing tokens ${w.start}–${w.end - 1} of ${T}${sinks}${left}; ` +
    "select a query (click the matrix, or arrow keys on it) to move the window."
  );
}

export interface StripCallbacks {
  onSelect(index: number): void;
  onHover(index: number): void;
}

/**
 * The token strip: one element per rendered token (all of them up to MAX_STRIP, else the
 * window of stripWindow), `sink` and `selected` classes kept in sync; `note` says which.
 */
export class TokenStrip {
  readonly el: HTMLDivElement;
  readonly note: HTMLDivElement;
  private tokens: string[] = [];
  private items = new Map<number, HTMLElement>();
  private windowKey = "";
  private sinks: ArrayLike<number> = [];
  private selected = -1;

  constructor(doc: Document, cb: StripCallbacks) {
    this.note = doc.createElement("div");
    this.note.className = "bosw-caption bosw-strip-note";
    this.note.dataset.testid = "bosw-strip-note";
    this.note.hidden = true;
    this.el = doc.createElement("div");
    this.el.className = "bosw-tokens";
    this.el.dataset.testid = "bosw-tokens";
    this.el.setAttribute("role", "list");
    const indexOf = (e: Event): number => {
      const t = (e.target as HTMLElement | null)?.closest?.("[data-index]");
      return t instanceof HTMLElement ? Number(t.dataset.index) : -1;
    };
    this.el.addEventListener("click", (e) => {
      const i = indexOf(e);
      if (i >= 0) cb.onSelect(i);
    });
    this.el.addEventListener("mouseover", (e) => cb.onHover(indexOf(e)));
    this.el.addEventListener("mouseleave", () => cb.onHover(-1));
  }

  /** Take a new token list (elements are built by the next update). */
  setTokens(tokens: string[]): void {
    this.tokens = tokens;
    this.windowKey = "";
    this.render(stripWindow(tokens.length, -1, []));
  }

  private render(w: StripWindow): void {
    const doc = this.el.ownerDocument;
    const T = this.tokens.length;
    this.items = new Map();
    const children: HTMLElement[] = [];
    let prev = -1;
    for (const i of w.indices) {
      if (prev >= 0 && i > prev + 1) {
        const gap = doc.createElement("span");
        gap.className = "bosw-token-gap";
        gap.textContent = "…";
        gap.title = `${i - prev - 1} tokens not listed`;
        children.push(gap);
      }
      prev = i;
      const tok = this.tokens[i] ?? "";
      const span = doc.createElement("span");
      span.className = "bosw-token";
      span.dataset.testid = "bosw-token";
      span.dataset.index = String(i);
      span.setAttribute("role", "listitem");
      span.textContent = displayToken(tok);
      span.title = `#${i}: ${JSON.stringify(tok)}`;
      this.items.set(i, span);
      children.push(span);
    }
    this.el.replaceChildren(...children);
    const note = stripNote(w, T);
    this.note.textContent = note;
    this.note.hidden = !note;
    this.sinks = [];
    this.selected = -1;
  }

  /** Apply the sink mask and the selection, touching only elements that change. */
  update(sinks: ArrayLike<number>, selected: number): void {
    const T = this.tokens.length;
    if (T > MAX_STRIP) {
      const w = stripWindow(T, selected, sinks);
      const key = w.indices.join(",");
      if (key !== this.windowKey) {
        this.windowKey = key;
        this.render(w);
      }
    }
    for (const [i, item] of this.items) {
      const on = Boolean(sinks[i]);
      if (on !== Boolean(this.sinks[i])) item.classList.toggle("sink", on);
    }
    this.sinks = Array.from(sinks);
    if (selected !== this.selected) {
      this.items.get(this.selected)?.classList.remove("selected");
      this.items.get(selected)?.classList.add("selected");
      this.selected = selected;
    }
  }
}
