// The master's state machine driven directly, as workers and users would
// through the RPCs, on a real SQLite store and a controllable clock.
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  AssignTaskRequestSchema,
  FinishTaskRequestSchema,
  ReportStatusRequestSchema,
  SubmitTaskRequestSchema,
  TaskState,
  type AssignTaskResponse,
} from "@switchboard/gen/node/v1/node_pb.js";
import { silentLogger } from "../logger.ts";
import { NodeMaster, type Session } from "./node-master.ts";
import { SqliteTaskStore } from "./store/sqlite.ts";

const S = TaskState;

function setup(t: TestContext, opts: { taskRetries?: number; dir?: string } = {}) {
  const dir = opts.dir ?? mkdtempSync(path.join(tmpdir(), "node-master-test-"));
  const store = new SqliteTaskStore(dir);
  const clock = { now: 1_000_000 };
  const master = new NodeMaster(store.sync, silentLogger(), {
    workerTimeoutMs: 1000,
    taskRetries: opts.taskRetries ?? 3,
    watchQueueLimit: 5,
    now: () => clock.now,
  });
  t.after(() => {
    master.close();
    store.close();
    if (!opts.dir) rmSync(dir, { recursive: true, force: true });
  });
  const submit = (program = "echo", labels: Record<string, string> = {}) =>
    master.submit(create(SubmitTaskRequestSchema, { command: { program }, labels })).id;
  const connect = (workerId: string, capacity = 1, runningTaskIds: string[] = []) =>
    master.connect(create(AssignTaskRequestSchema, { workerId, capacity, runningTaskIds }));
  const state = (id: string) => master.get(id)!.state;
  return { dir, store, master, clock, submit, connect, state };
}

/** The messages queued for a worker so far. */
async function received(s: Session): Promise<AssignTaskResponse["action"][]> {
  const out: AssignTaskResponse["action"][] = [];
  const signal = new AbortController().signal;
  while (s.queue.length > 0) out.push((await s.queue.next(signal))!.action);
  return out;
}

test("lost workers re-queue a task until the retry limit, then it FAILED with the reason", (t) => {
  const { master, submit, connect, state } = setup(t, { taskRetries: 1 });
  const id = submit();
  const w1 = connect("w1");
  assert.equal(state(id), S.ASSIGNED);
  master.start("w1", id, 1);
  assert.equal(state(id), S.RUNNING);
  master.disconnect(w1, "worker w1 disconnected", true);
  assert.equal(state(id), S.QUEUED);
  assert.equal(master.get(id)!.reason, "worker w1 disconnected");

  const w2 = connect("w2");
  assert.equal(master.get(id)!.attempt, 2);
  master.disconnect(w2, "worker w2 disconnected", true);
  const task = master.get(id)!;
  assert.equal(task.state, S.FAILED);
  assert.equal(task.reason, "worker w2 disconnected; gave up after 2 attempts");
});

test("never beyond capacity; a finished task frees the slot for the next one", async (t) => {
  const { master, submit, connect, state } = setup(t);
  const a = submit();
  const b = submit();
  const w = connect("w1", 1);
  assert.deepEqual([state(a), state(b)], [S.ASSIGNED, S.QUEUED]);
  const msgs = await received(w);
  assert.deepEqual(msgs.map((m) => m.case), ["registered", "task"]);
  master.finish(create(FinishTaskRequestSchema, { workerId: "w1", taskId: a, attempt: 1, state: S.SUCCEEDED }));
  assert.deepEqual([state(a), state(b)], [S.SUCCEEDED, S.ASSIGNED]);
});

test("a give-back (FinishTask QUEUED) re-queues; stale and foreign reports are FAILED_PRECONDITION", (t) => {
  const { master, submit, connect, state } = setup(t);
  const id = submit();
  connect("w1");
  master.finish(create(FinishTaskRequestSchema, { workerId: "w1", taskId: id, attempt: 1, state: S.QUEUED, reason: "stopping" }));
  // Re-queued and — w1 being the only worker — assigned to it again as attempt 2.
  assert.equal(master.get(id)!.attempt, 2);
  assert.equal(master.get(id)!.reason, "stopping");
  const bad: Array<[string, number, string]> = [
    ["w1", 1, "old attempt"],
    ["w2", 2, "other worker"],
  ];
  for (const [workerId, attempt, name] of bad) {
    assert.throws(
      () => master.finish(create(FinishTaskRequestSchema, { workerId, taskId: id, attempt, state: S.SUCCEEDED })),
      (e: ConnectError) => e.code === Code.FailedPrecondition,
      name,
    );
    assert.throws(() => master.start(workerId, id, attempt), (e: ConnectError) => e.code === Code.FailedPrecondition, name);
  }
  assert.equal(state(id), S.ASSIGNED);
});

test("missed heartbeats: the sweeper ends the stream with UNAVAILABLE and re-queues", async (t) => {
  const { master, clock, submit, connect, state } = setup(t);
  const w1 = connect("w1");
  const id = submit();
  master.heartbeat(create(ReportStatusRequestSchema, { workerId: "w1", runningTaskIds: [id] }));
  clock.now += 900;
  master.sweep();
  assert.equal(state(id), S.ASSIGNED, "within the timeout");
  clock.now += 200;
  master.sweep();
  assert.equal(state(id), S.QUEUED);
  assert.match(master.get(id)!.reason, /missed heartbeats for 1000ms/);
  await assert.rejects(w1.queue.next(new AbortController().signal), (e: ConnectError) => e.code === Code.Unavailable);
  assert.throws(
    () => master.heartbeat(create(ReportStatusRequestSchema, { workerId: "w1" })),
    (e: ConnectError) => e.code === Code.FailedPrecondition,
  );
});

test("restart: unfinished tasks survive; a worker that comes back keeps its task, others are re-queued after the timeout", (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), "node-master-restart-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  let ids: string[];
  {
    const first = setup(t, { dir });
    ids = [first.submit(), first.submit(), first.submit()];
    first.connect("w1");
    first.connect("w2");
    // Server shutdown: streams end without re-queue.
    first.master.close();
    first.store.close();
  }
  const second = setup(t, { dir });
  assert.deepEqual(ids.map(second.state), [S.ASSIGNED, S.ASSIGNED, S.QUEUED]);
  const [a, b, c] = ids as [string, string, string];
  const w1 = second.master.get(a)!.workerId;
  second.connect(w1, 1, [a]);
  assert.equal(second.state(a), S.ASSIGNED, "kept for the worker that came back");
  second.clock.now += 1500;
  second.master.sweep();
  // b's worker never came back: re-queued, and handed to... nobody free (w1 is full).
  assert.equal(second.state(b), S.QUEUED);
  assert.match(second.master.get(b)!.reason, /did not come back within 1000ms/);
  assert.equal(second.state(c), S.QUEUED);
});

test("reconnect reconciliation: tasks the worker lost are re-queued, tasks it should not have are cancelled", async (t) => {
  const { master, submit, connect, state } = setup(t);
  const id = submit();
  connect("w1");
  const other = submit("sleep");
  // w1 reconnects claiming a task that is not its own, and without its own.
  const again = connect("w1", 1, [other]);
  const msgs = await received(again);
  assert.deepEqual(msgs.slice(0, 2), [
    { case: "registered", value: msgs[0]!.value },
    { case: "cancelTaskId", value: other },
  ]);
  assert.equal(state(id), S.QUEUED, "re-queued; the slot is held until the stale run stops");
  assert.equal(master.get(id)!.reason, "worker w1 reconnected without the task");
  // The worker reports the stale run stopped: the slot is free again.
  master.finish(create(FinishTaskRequestSchema, { workerId: "w1", taskId: other, attempt: 0, state: S.CANCELLED }));
  assert.equal(state(id), S.ASSIGNED);
  assert.equal(master.get(id)!.attempt, 2);
});

test("cancel: queued at once; running → CANCELLED, the worker is told, its slot stays busy until it confirms", async (t) => {
  const { master, submit, connect, state } = setup(t);
  const queued = submit("echo", { zone: "nowhere" });
  assert.equal(master.cancel(queued, "").reason, "cancelled by a user");
  const w = connect("w1", 1);
  const running = submit();
  master.start("w1", running, 1);
  const waiting = submit();
  assert.equal(master.cancel(running, "stop").state, S.CANCELLED);
  const msgs = await received(w);
  assert.deepEqual(msgs.at(-1), { case: "cancelTaskId", value: running });
  assert.equal(state(waiting), S.QUEUED, "the cancelled run still occupies the slot");
  master.finish(create(FinishTaskRequestSchema, { workerId: "w1", taskId: running, attempt: 1, state: S.CANCELLED, result: { signal: "SIGTERM" } }));
  assert.equal(master.get(running)!.result?.signal, "SIGTERM");
  assert.equal(state(waiting), S.ASSIGNED);
  assert.throws(() => master.cancel(running, ""), (e: ConnectError) => e.code === Code.FailedPrecondition);
  assert.throws(() => master.cancel("nope", ""), (e: ConnectError) => e.code === Code.NotFound);
});

test("watchers: snapshot + marker, changes in order, a slow watcher is ended and the master goes on", async (t) => {
  const { master, submit } = setup(t);
  const first = submit();
  const w = master.watch("", true);
  const signal = new AbortController().signal;
  const snap = await w.queue.next(signal);
  assert.equal(snap?.task?.id, first);
  assert.equal((await w.queue.next(signal))?.snapshotDone, true);
  for (let i = 0; i < 10; i++) submit();
  await assert.rejects(
    (async () => {
      for (;;) await w.queue.next(signal);
    })(),
    (e: ConnectError) => e.code === Code.ResourceExhausted,
  );
  assert.equal(master.list({ states: [S.QUEUED], workerId: "", limit: 100 }).tasks.length, 11);
});

test("resuming a watch (after_sequence) needs cluster mode: the embedded master has no history", (t) => {
  const { master } = setup(t);
  assert.throws(
    () => master.watch("", false, 5n),
    (err) => err instanceof ConnectError && err.code === Code.FailedPrecondition && /cluster mode/.test(err.rawMessage),
  );
  master.watch("", false, 0n).dispose();
});
