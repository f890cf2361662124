import { describe, expect, it } from "vitest";
import { encode } from "../src/codec";
import { alphaOf, prunedOf, SliceClient } from "../src/slices";
import type { SliceRequest, WidgetModel } from "../src/types";

function setup(T = 2) {
  const sent: SliceRequest[] = [];
  const model = { send: (m: SliceRequest) => sent.push(m) } as unknown as WidgetModel;
  const arrived: string[] = [];
  const errors: string[] = [];
  const c = new SliceClient(
    model,
    () => T,
    (k) => arrived.push(k),
    (e) => errors.push(e),
  );
  return { c, sent, arrived, errors };
}

const slice = (layer: number, head: number, T = 2) => [
  { kind: "slice", layer, head, weighting: "raw" },
  [new DataView(encode([T, T], T === 2 ? [1, 0, 0.25, 0.75] : new Array(T * T).fill(1 / T)))],
];

describe("SliceClient", () => {
  it("sends one request per key until answered, then serves from the cache", () => {
    const { c, sent, arrived } = setup();
    c.request(3, -1, "raw");
    c.request(3, -1, "raw");
    expect(sent).toEqual([{ kind: "request", layer: 3, head: -1, weighting: "raw" }]);
    const [msg, bufs] = slice(3, -1);
    c.handle(msg, bufs as DataView[]);
    expect(arrived).toEqual(["3|-1|raw"]);
    c.request(3, -1, "raw");
    expect(sent.length).toBe(1);
    const e = c.get(3, -1, "raw");
    expect(e && Array.from(alphaOf(e, true))).toEqual([0.625, 0.75]);
    expect(e && Array.from(prunedOf(e).k)).toEqual([0, 1, 0]);
  });

  it("stores unsolicited pushes, drops slices of another T, reports errors", () => {
    const { c, arrived, errors } = setup();
    const [m1, b1] = slice(4, 2);
    c.handle(m1, b1 as DataView[]);
    expect(c.get(4, 2, "raw")).toBeDefined();
    const [m2, b2] = slice(5, 2, 3);
    c.handle(m2, b2 as DataView[]);
    expect(c.get(5, 2, "raw")).toBeUndefined();
    c.handle({ kind: "error", message: "No layer 99." }, []);
    c.handle({ kind: "slice", layer: 1, head: 0, weighting: "raw" }, [new Uint8Array(4)]);
    expect(arrived).toEqual(["4|2|raw"]);
    expect(errors[0]).toBe("No layer 99.");
    expect(errors[1]).toMatch(/Could not decode/);
  });

  it("prefetches in-range neighbours only, head -1 included", () => {
    const { c, sent } = setup();
    c.prefetch(0, 0, "norm", 2, 2);
    expect(sent.map((s) => [s.layer, s.head])).toEqual([
      [1, 0],
      [0, 1],
      [0, -1],
    ]);
  });
});
