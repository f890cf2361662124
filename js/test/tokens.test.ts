import { describe, expect, it } from "vitest";
import { headerItems } from "../src/header";
import { displayToken, MAX_STRIP, stripNote, stripWindow } from "../src/tokens";

describe("displayToken", () => {
  it("marks whitespace, not vocabulary markers (the kernel decodes those; tokens.json)", () => {
    expect(displayToken(" the")).toBe("␣the");
    expect(displayToken("New York")).toBe("New␣York");
    expect(displayToken("Ġthe")).toBe("Ġthe");
    expect(displayToken("a\nb\tc")).toBe("a↵b⇥c");
    expect(displayToken("")).toBe("∅");
  });

  it("leaves markup-looking text untouched (it is rendered as text)", () => {
    expect(displayToken("<img src=x onerror=alert(1)>")).toBe("<img␣src=x␣onerror=alert(1)>");
  });
});

describe("header", () => {
  it("states T, BOS, head or mean, weighting and eps", () => {
    const meta = {
      model: "m",
      model_class: "C",
      causal: true,
      bos_added: false,
      first_token: "The",
      n_layers: 30,
      n_heads: 9,
      T: 17,
      weightings: ["raw"],
    };
    const items = Object.fromEntries(
      headerItems({
        meta,
        layer: 3,
        head: -1,
        weighting: "raw",
        threshold: 0.3,
        hideSinks: false,
        label: "",
        loading: false,
      }),
    );
    expect(items.T).toBe("17");
    expect(items.head).toBe("mean of 9");
    expect(items["BOS/[CLS]"]).toContain("not added");
    expect(items.ε).toBe("0.30");
    expect(items.layer).toBe("3/29");
  });
});

describe("token strip window", () => {
  const sinks = (T: number, on: number[]) => {
    const m = new Uint8Array(T);
    for (const i of on) m[i] = 1;
    return m;
  };

  it("lists every token up to the cap", () => {
    const w = stripWindow(300, 10, sinks(300, [0]));
    expect(w.indices.length).toBe(300);
    expect(stripNote(w, 300)).toBe("");
  });

  it("shows a window around the selected query plus the sinks outside it", () => {
    const T = 2048;
    const w = stripWindow(T, 1500, sinks(T, [0, 7, 1501]));
    expect(w.indices.length).toBe(MAX_STRIP);
    expect(w.indices.slice(0, 2)).toEqual([0, 7]);
    expect(w.indices).toContain(1500);
    expect(w.start).toBeLessThanOrEqual(1500);
    expect(w.end).toBeGreaterThan(1500);
    expect(w.end - w.start).toBe(MAX_STRIP - 2);
    expect(w.extraSinks).toBe(2);
    expect([...w.indices].sort((a, b) => a - b)).toEqual(w.indices);
    expect(stripNote(w, T)).toMatch(/^Showing tokens \d+–\d+ of 2048 and 2 sink tokens;/);
  });

  it("starts at the beginning without a selection and stays inside [0, T)", () => {
    const T = 1000;
    expect(stripWindow(T, -1, sinks(T, [])).start).toBe(0);
    const end = stripWindow(T, 999, sinks(T, []));
    expect(end.end).toBe(T);
    expect(end.indices.length).toBe(MAX_STRIP);
  });

  it("caps the sinks it adds and says how many it left out", () => {
    const T = 2000;
    const all = Array.from({ length: T }, (_, i) => i);
    const w = stripWindow(T, 1000, sinks(T, all));
    expect(w.indices.length).toBe(MAX_STRIP);
    expect(w.extraSinks).toBe(MAX_STRIP / 4);
    expect(w.hiddenSinks).toBe(T - MAX_STRIP);
    expect(stripNote(w, T)).toContain(`${T - MAX_STRIP} more sinks not listed`);
  });
});

describe("invisible characters", () => {
  it("shows bidi controls and zero-width characters as code points", () => {
    expect(displayToken("\u202Eevil\u202C")).toBe("⟨U+202E⟩evil⟨U+202C⟩");
    expect(displayToken("zero\u200Bwidth")).toBe("zero⟨U+200B⟩width");
    expect(displayToken("plain")).toBe("plain");
  });
});
