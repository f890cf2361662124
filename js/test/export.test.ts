import { describe, expect, it } from "vitest";
import { encode } from "../src/codec";
import { figureFileName, wrapItems } from "../src/save";
import { SliceClient } from "../src/slices";
import { base64Bytes, snapshotMessage } from "../src/snapshot";
import { EmbeddedModel, type PageData } from "../src/standalone";
import type { Meta, Traits } from "../src/types";

const T = 3;
const A = new Float32Array([1, 0, 0, 0.5, 0.5, 0, 0.2, 0.3, 0.5]);
const b64 = (bytes: ArrayBuffer) => Buffer.from(bytes).toString("base64");
const reply = (layer: number) => ({
  kind: "slice",
  layer,
  head: -1,
  weighting: "raw",
  encoding: "float16",
  error_bound: 0.001,
  stats: null,
});

function page(): PageData {
  const meta: Meta = {
    model: "m",
    model_class: "M",
    causal: true,
    bos_added: false,
    first_token: "a",
    n_layers: 2,
    n_heads: 1,
    T,
    weightings: ["raw"],
  };
  const state = { tokens: ["a", "b", "c"], meta, layer: 0, head: -1, weighting: "raw" };
  const data = b64(encode([T, T], A, "float16", true));
  return {
    state: state as unknown as Traits,
    slices: { "0|-1|raw": { reply: reply(0), data } },
    omitted: "Only layer 0 was exported.",
    title: "m · T=3",
  };
}

describe("standalone page model", () => {
  it("answers requests from the embedded slices, asynchronously, through SliceClient", async () => {
    const model = new EmbeddedModel(page());
    const got: string[] = [];
    const errors: string[] = [];
    const client = new SliceClient(
      model,
      () => T,
      (k) => got.push(k),
      (e) => errors.push(e),
    );
    model.on("msg:custom", (msg: unknown, buffers: unknown) =>
      client.handle(msg, buffers as Uint8Array[]),
    );
    client.request(0, -1, "raw");
    expect(got).toEqual([]); // not before the microtask
    await Promise.resolve();
    expect(got).toEqual(["0|-1|raw"]);
    const e = client.get(0, -1, "raw");
    expect(Array.from(e?.data ?? []).map((v) => Math.round(v * 100) / 100)).toEqual(
      Array.from(A).map((v) => Math.round(v * 100) / 100),
    );
    client.request(1, -1, "raw"); // a prefetch of a slice the page lacks: no answer
    await Promise.resolve();
    expect(errors).toEqual([]);
    model.set("layer", 1);
    client.reset();
    client.request(1, -1, "raw"); // the view shown: an error sentence
    await Promise.resolve();
    expect(errors[0]).toContain("does not include layer 1, mean of heads, raw");
    expect(errors[0]).toContain("Only layer 0 was exported.");
  });

  it("keeps trait values and tells listeners about changes only", () => {
    const model = new EmbeddedModel(page());
    let n = 0;
    model.on("change:layer", () => n++);
    model.set("layer", 0);
    model.set("layer", 1);
    expect(model.get("layer")).toBe(1);
    expect(n).toBe(1);
    model.off("change:layer");
    model.set("layer", 0);
    expect(n).toBe(1);
  });
});

describe("snapshot trait", () => {
  it("turns into the message and bytes a slice client handles", () => {
    const bytes = encode([T, T], A, "float16", true);
    const snap = snapshotMessage({ reply: reply(1), data: b64(bytes) });
    expect(snap?.[0].layer).toBe(1);
    expect(Array.from(snap?.[1][0] as Uint8Array)).toEqual(Array.from(new Uint8Array(bytes)));
  });

  it("is ignored when empty or malformed", () => {
    expect(snapshotMessage({})).toBeNull();
    expect(snapshotMessage(undefined)).toBeNull();
    expect(snapshotMessage({ reply: { kind: "error" }, data: "" })).toBeNull();
    expect(snapshotMessage({ reply: reply(0), data: "%%%" })).toBeNull();
    expect(Array.from(base64Bytes("AQID"))).toEqual([1, 2, 3]);
  });
});

describe("save button helpers", () => {
  it("names the file after what it shows, safely", () => {
    const f = { model: "HuggingFaceTB/SmolLM2 <x>", layer: 3, head: -1, weighting: "raw" };
    expect(figureFileName({ ...f, view: "arcs" })).toBe(
      "bos_widget_HuggingFaceTB-SmolLM2-x_L3_mean_raw_arcs.png",
    );
    expect(figureFileName({ ...f, model: "../..", head: 2, view: "matrix" })).toBe(
      "bos_widget_attention_L3_h2_raw_matrix.png",
    );
  });

  it("wraps header items into lines that fit", () => {
    const lines = wrapItems(["aaaa", "bbbb", "cccc"], 12, (s) => s.length);
    expect(lines).toEqual(["aaaa · bbbb", "cccc"]);
    expect(wrapItems(["a-very-long-item"], 4, (s) => s.length)).toEqual(["a-very-long-item"]);
  });
});
