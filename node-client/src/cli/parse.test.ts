import { test } from "node:test";
import assert from "node:assert/strict";
import { TaskState } from "@switchboard/gen/node/v1/node_pb.js";
import { parseDurationMs, parseLabel, parseOffset, parsePriceCents, parseServerUrl, parseTaskState } from "./parse.ts";

test("parseDurationMs", () => {
  const ok: Array<[string, number]> = [["500", 500], ["500ms", 500], ["30s", 30_000], ["1.5m", 90_000], ["2h", 7_200_000], [" 1s ", 1000], ["1d", 86_400_000]];
  for (const [text, ms] of ok) assert.equal(parseDurationMs(text), ms, text);
  for (const bad of ["", "soon", "-1s", "0", "1w", "1.5.2s"]) assert.throws(() => parseDurationMs(bad), /duration/, bad);
});

test("parsePriceCents is exact", () => {
  const ok: Array<[string, bigint]> = [["12", 1200n], ["12.5", 1250n], ["12.50", 1250n], ["0.07", 7n], ["$1,200.99", 120099n], ["19.99", 1999n]];
  for (const [text, cents] of ok) assert.equal(parsePriceCents(text), cents, text);
  for (const bad of ["12.345", "-1", "1,20", "abc", ""]) assert.throws(() => parsePriceCents(bad), /price/, bad);
});

test("parseOffset accepts uint64 only", () => {
  assert.equal(parseOffset("0"), 0n);
  assert.equal(parseOffset("18446744073709551615"), 18446744073709551615n);
  for (const bad of ["-1", "1.5", "x", "18446744073709551616"]) assert.throws(() => parseOffset(bad), bad);
});

test("parseTaskState, parseLabel, parseServerUrl", () => {
  const states: Array<[string, TaskState]> = [["queued", TaskState.QUEUED], ["RUNNING", TaskState.RUNNING], ["TASK_STATE_FAILED", TaskState.FAILED]];
  for (const [text, s] of states) assert.equal(parseTaskState(text), s, text);
  for (const bad of ["unspecified", "done", ""]) assert.throws(() => parseTaskState(bad), /not a task state/, bad);
  assert.deepEqual(parseLabel("zone=eu=1"), ["zone", "eu=1"]);
  assert.deepEqual(parseLabel("empty="), ["empty", ""]);
  for (const bad of ["=v", "novalue"]) assert.throws(() => parseLabel(bad), /key=value/, bad);
  assert.equal(parseServerUrl("http://localhost:8080/"), "http://localhost:8080");
  for (const bad of ["localhost:8080", "ftp://x", "nope"]) assert.throws(() => parseServerUrl(bad), bad);
});
