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
