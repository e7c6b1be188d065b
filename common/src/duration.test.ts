import assert from "node:assert/strict";
import { test } from "node:test";
import { parseDurationMs } from "./duration.ts";

test("parseDurationMs: units, bare milliseconds, fractions", () => {
  const ok: Array<[string, number]> = [["250", 250], ["250ms", 250], ["90s", 90_000], ["1.5m", 90_000], ["24h", 86_400_000], ["7d", 604_800_000], [" 2s ", 2000]];
  for (const [text, ms] of ok) assert.equal(parseDurationMs(text), ms, text);
  for (const bad of ["", "soon", "-1s", "7w", "1.5.2s", "s"]) assert.throws(() => parseDurationMs(bad, { flag: "--x" }), /--x must be a duration/, bad);
  assert.throws(() => parseDurationMs("soon"), /"soon" is not a duration \(e\.g\. 500ms/);
});

test("parseDurationMs: minimum and whole numbers on request", () => {
  assert.throws(() => parseDurationMs("0"), /duration must be positive, got "0"/);
  assert.equal(parseDurationMs("0", { min: 0 }), 0);
  assert.throws(() => parseDurationMs("1s", { flag: "--y", min: 5000 }), /--y must be at least 5000 ms/);
  assert.throws(() => parseDurationMs("1.5h", { fractions: false }), /is not a duration/);
  assert.equal(parseDurationMs("2h", { fractions: false }), 7_200_000);
});
