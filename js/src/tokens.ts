// Tokens: readable token text (displayToken, pure) and the clickable token strip (DOM).
// Token text is data: it is only ever written with textContent, never parsed as markup.

/**
 * Make a token readable: leading byte-level space marks (Ġ, ▁ or a real space) become ␣,
 * newlines (Ċ or \n) become ↵, tabs ⇥, carriage returns ␍; an empty token shows as ∅.
 */
export function displayToken(tok: string): string {
  if (tok.length === 0) return "∅";
  const lead = /^[Ġ▁ ]+/.exec(tok);
  let s = lead ? "␣".repeat(lead[0].length) + tok.slice(lead[0].length) : tok;
  s = s.replace(/[Ċ\n]/g, "↵").replace(/\t/g, "⇥").replace(/\r/g, "␍");
  return s;
}

export interface StripCallbacks {
  onSelect(index: number): void;
  onHover(index: number): void;
}

/** The token strip: one element per token, `sink` and `selected` classes kept in sync. */
export class TokenStrip {
  readonly el: HTMLDivElement;
  private items: HTMLElement[] = [];
  private sinks: ArrayLike<number> = [];
  private selected = -1;

  constructor(doc: Document, cb: StripCallbacks) {
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

  /** Rebuild the elements for a new token list. */
  setTokens(tokens: string[]): void {
    const doc = this.el.ownerDocument;
    this.el.replaceChildren();
    this.items = tokens.map((tok, i) => {
      const span = doc.createElement("span");
      span.className = "bosw-token";
      span.dataset.testid = "bosw-token";
      span.dataset.index = String(i);
      span.setAttribute("role", "listitem");
      span.textContent = displayToken(tok);
      span.title = `#${i}: ${JSON.stringify(tok)}`;
      return span;
    });
    this.el.append(...this.items);
    this.sinks = [];
    this.selected = -1;
  }

  /** Apply the sink mask and the selection, touching only elements that change. */
  update(sinks: ArrayLike<number>, selected: number): void {
    for (let i = 0; i < this.items.length; i++) {
      const on = Boolean(sinks[i]);
      if (on !== Boolean(this.sinks[i])) this.items[i].classList.toggle("sink", on);
    }
    this.sinks = Array.from(sinks);
    if (selected !== this.selected) {
      this.items[this.selected]?.classList.remove("selected");
      this.items[selected]?.classList.add("selected");
      this.selected = selected;
    }
  }
}
