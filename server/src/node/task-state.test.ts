import { test } from "node:test";
import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { TaskSchema, TaskState } from "@switchboard/gen/node/v1/node_pb.js";
import { applyTransition, canTransition, isActive, isFinal } from "./task-state.ts";

const S = TaskState;
const all = [S.QUEUED, S.ASSIGNED, S.RUNNING, S.SUCCEEDED, S.FAILED, S.CANCELLED];

test("the transition table: exactly these moves are legal", () => {
  const legal = new Set([
    "QUEUED>ASSIGNED", "QUEUED>CANCELLED", "QUEUED>FAILED",
    "ASSIGNED>RUNNING", "ASSIGNED>QUEUED", "ASSIGNED>SUCCEEDED", "ASSIGNED>FAILED", "ASSIGNED>CANCELLED",
    "RUNNING>QUEUED", "RUNNING>SUCCEEDED", "RUNNING>FAILED", "RUNNING>CANCELLED",
  ]);
  for (const from of all) {
    for (const to of all) {
      const key = `${S[from]}>${S[to]}`;
      assert.equal(canTransition(from, to), legal.has(key), key);
    }
  }
});

test("final and active states", () => {
  const table: Array<[TaskState, boolean, boolean]> = [
    [S.QUEUED, false, false],
    [S.ASSIGNED, false, true],
    [S.RUNNING, false, true],
    [S.SUCCEEDED, true, false],
    [S.FAILED, true, false],
    [S.CANCELLED, true, false],
  ];
  for (const [state, final, active] of table) {
    assert.equal(isFinal(state), final, S[state]);
    assert.equal(isActive(state), active, S[state]);
  }
});

test("applyTransition stamps the timestamps, the worker and the attempt", () => {
  const t = create(TaskSchema, { id: "t1", state: S.QUEUED });
  const steps: Array<{ to: TaskState; at: number; patch?: { reason?: string; workerId?: string }; check: () => void }> = [
    { to: S.ASSIGNED, at: 1000, patch: { workerId: "w1" }, check: () => {
      assert.equal(t.workerId, "w1");
      assert.equal(t.attempt, 1);
      assert.equal(timestampMs(t.assignedAt!), 1000);
    } },
    { to: S.RUNNING, at: 2000, check: () => assert.equal(timestampMs(t.startedAt!), 2000) },
    { to: S.QUEUED, at: 3000, patch: { reason: "worker w1 disconnected" }, check: () => {
      assert.equal(t.reason, "worker w1 disconnected");
      assert.equal(t.finishedAt, undefined);
    } },
    { to: S.ASSIGNED, at: 4000, patch: { workerId: "w2" }, check: () => {
      assert.equal(t.attempt, 2);
      assert.equal(t.workerId, "w2");
      assert.equal(t.startedAt, undefined, "a new attempt has not started yet");
    } },
    { to: S.RUNNING, at: 5000, check: () => assert.equal(timestampMs(t.startedAt!), 5000) },
    { to: S.SUCCEEDED, at: 6000, check: () => {
      assert.equal(timestampMs(t.finishedAt!), 6000);
      assert.equal(t.reason, "worker w1 disconnected", "kept without a new reason");
    } },
  ];
  for (const s of steps) {
    applyTransition(t, s.to, s.at, s.patch);
    assert.equal(t.state, s.to);
    assert.equal(timestampMs(t.updatedAt!), s.at);
    s.check();
  }
  assert.throws(() => applyTransition(t, S.RUNNING, 7000), /illegal task transition SUCCEEDED -> RUNNING/);
});
