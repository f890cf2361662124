// Twins: TypeScript rules with a Python twin read the same JSON fixtures as
// tests/unit/test_twins.py, so the browser and the kernel's figures agree case by case.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { displayToken } from "../src/tokens";

const fixture = <T>(name: string): T =>
  JSON.parse(readFileSync(resolve(__dirname, "../../tests/fixtures", name), "utf8")) as T;

describe("readable tokens (tests/fixtures/tokens.json)", () => {
  const { cases } = fixture<{ cases: { token: string; label: string }[] }>("tokens.json");
  it.each(cases)("$token", ({ token, label }) => {
    expect(displayToken(token)).toBe(label);
  });
});
