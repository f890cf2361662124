import { describe, expect, it } from "vitest";
import { stepCount, stepOfRow, stepRow, stepText } from "../src/generation";

describe("generation steps", () => {
  // 5 prompt tokens, 3 generated: steps 1..3 have query rows 4, 5, 6 and chose tokens 5, 6, 7
  const P = 5;
  const T = 8;
  const labels = ["The", "␣capital", "␣of", "␣France", "␣is", "␣Paris", ".", "↵"];

  it("counts the generated tokens, and nothing without a prompt length", () => {
    expect(stepCount(P, T)).toBe(3);
    expect(stepCount(null, T)).toBe(0);
    expect(stepCount(undefined, T)).toBe(0);
    expect(stepCount(T, T)).toBe(0);
  });

  it("maps steps to query rows and back", () => {
    expect([1, 2, 3].map((s) => stepRow(s, P))).toEqual([4, 5, 6]);
    for (const s of [1, 2, 3]) expect(stepOfRow(stepRow(s, P), P, T)).toBe(s);
  });

  it("gives no step for rows that chose no generated token", () => {
    expect(stepOfRow(-1, P, T)).toBe(0); // nothing selected
    expect(stepOfRow(3, P, T)).toBe(0); // inside the prompt
    expect(stepOfRow(7, P, T)).toBe(0); // the last token chose nothing yet
    expect(stepOfRow(4, null, T)).toBe(0);
  });

  it("names the query and the token it chose", () => {
    expect(stepText(1, 3, labels, P)).toBe("step 1 of 3: «␣is» chose «␣Paris»");
    expect(stepText(3, 3, labels, P)).toBe("step 3 of 3: «.» chose «↵»");
    expect(stepText(0, 3, labels, P)).toBe("all queries · 3 generated");
  });
});
