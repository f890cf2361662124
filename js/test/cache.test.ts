import { describe, expect, it } from "vitest";
import { InFlight, LRU, sliceKey } from "../src/cache";

describe("LRU", () => {
  it("evicts the least recently used entry", () => {
    const c = new LRU<number>(2);
    c.set("a", 1);
    c.set("b", 2);
    expect(c.get("a")).toBe(1); // a is now fresher than b
    c.set("c", 3);
    expect(c.has("b")).toBe(false);
    expect(c.has("a")).toBe(true);
    expect(c.size).toBe(2);
  });

  it("is bounded in bytes as well as entries, and keeps the newest even when it is too big", () => {
    const c = new LRU<Float32Array>(64, 1000, (v) => v.byteLength);
    c.set("a", new Float32Array(100)); // 400 bytes
    c.set("b", new Float32Array(100));
    expect([c.size, c.bytes]).toEqual([2, 800]);
    c.set("c", new Float32Array(100)); // 1200 > 1000: a goes
    expect([c.has("a"), c.has("b"), c.has("c"), c.bytes]).toEqual([false, true, true, 800]);
    c.set("b", new Float32Array(10)); // replacing counts the new size only
    expect(c.bytes).toBe(440);
    c.set("huge", new Float32Array(1000)); // 4000 bytes: alone, but kept
    expect([c.size, c.bytes, c.has("huge")]).toEqual([1, 4000, true]);
    c.clear();
    expect([c.size, c.bytes]).toEqual([0, 0]);
  });
});

describe("InFlight", () => {
  it("de-duplicates until answered or stale", () => {
    const f = new InFlight(1000);
    const k = sliceKey(3, -1, "raw");
    expect(k).toBe("3|-1|raw");
    expect(f.begin(k, 0)).toBe(true);
    expect(f.begin(k, 500)).toBe(false);
    expect(f.begin(k, 1500)).toBe(true); // stale: may be re-sent
    f.end(k);
    expect(f.has(k)).toBe(false);
    expect(f.begin(k, 1600)).toBe(true);
  });
});
