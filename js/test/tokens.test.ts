import { describe, expect, it } from "vitest";
import { headerItems } from "../src/header";
import { displayToken } from "../src/tokens";

describe("displayToken", () => {
  it("maps byte-level marks to visible symbols", () => {
    expect(displayToken("Ġthe")).toBe("␣the");
    expect(displayToken("▁cat")).toBe("␣cat");
    expect(displayToken("ĠĠx")).toBe("␣␣x");
    expect(displayToken("Ċ")).toBe("↵");
    expect(displayToken("a\nb\tc")).toBe("a↵b⇥c");
    expect(displayToken("")).toBe("∅");
  });

  it("leaves markup-looking text untouched (it is rendered as text)", () => {
    expect(displayToken("<img src=x onerror=alert(1)>")).toBe("<img src=x onerror=alert(1)>");
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
