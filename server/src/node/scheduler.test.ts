import { test } from "node:test";
import assert from "node:assert/strict";
import { labelsMatch, pickWorker, type Candidate } from "./scheduler.ts";

const w = (id: string, over: Partial<Candidate> = {}): Candidate => ({
  id,
  labels: {},
  capacity: 2,
  busy: 0,
  draining: false,
  lastAssigned: 0,
  ...over,
});

test("labelsMatch: the worker must have every task label with the same value", () => {
  const table: Array<[Record<string, string>, Record<string, string>, boolean]> = [
    [{}, {}, true],
    [{}, { zone: "a" }, true],
    [{ zone: "a" }, { zone: "a", gpu: "yes" }, true],
    [{ zone: "a", gpu: "yes" }, { zone: "a", gpu: "yes" }, true],
    [{ zone: "a" }, { zone: "b" }, false],
    [{ zone: "a" }, {}, false],
    [{ zone: "a", gpu: "yes" }, { zone: "a" }, false],
    [{ zone: "" }, {}, false],
    [{ toString: "x" }, {}, false],
  ];
  for (const [required, offered, want] of table) {
    assert.equal(labelsMatch(required, offered), want, `${JSON.stringify(required)} ⊆ ${JSON.stringify(offered)}`);
  }
});

test("pickWorker: eligible, then least busy, then lowest load ratio, then longest idle, then id", () => {
  const table: Array<{ name: string; labels?: Record<string, string>; workers: Candidate[]; want: string | undefined }> = [
    { name: "no workers", workers: [], want: undefined },
    { name: "the only worker", workers: [w("a")], want: "a" },
    { name: "least busy wins", workers: [w("a", { busy: 1 }), w("b")], want: "b" },
    { name: "full workers are skipped", workers: [w("a", { busy: 2 }), w("b", { busy: 1, capacity: 1 })], want: undefined },
    { name: "draining workers are skipped", workers: [w("a", { draining: true }), w("b", { busy: 1 })], want: "b" },
    { name: "labels must match", labels: { gpu: "yes" }, workers: [w("a"), w("b", { busy: 1, labels: { gpu: "yes" } })], want: "b" },
    { name: "labels match nobody", labels: { zone: "c" }, workers: [w("a", { labels: { zone: "a" } })], want: undefined },
    { name: "same busy: lower ratio", workers: [w("a", { busy: 1, capacity: 2 }), w("b", { busy: 1, capacity: 8 })], want: "b" },
    { name: "tie: the one given a task longest ago", workers: [w("a", { lastAssigned: 5 }), w("b", { lastAssigned: 3 })], want: "b" },
    { name: "full tie: by id", workers: [w("b"), w("a")], want: "a" },
  ];
  for (const c of table) {
    assert.equal(pickWorker(c.labels ?? {}, c.workers)?.id, c.want, c.name);
  }
});
