// The cluster master driven directly, several instances in one process on a
// throwaway PostgreSQL: reaping happens once however many instances race, and
// watch resumption respects the event retention.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { create, toBinary } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { NodeSchema, NodeStatus, SubmitTaskRequestSchema, TaskSchema, TaskState } from "@switchboard/gen/node/v1/node_pb.js";
import { startPostgres, type TestPostgres } from "@switchboard/test-harness/postgres";
import { PgDb } from "../db/pg-db.ts";
import { silentLogger } from "../logger.ts";
import { ClusterMaster, type ClusterMasterOptions } from "./cluster-master.ts";
import { eventually } from "@switchboard/test-harness/eventually";

let server: TestPostgres;
let n = 0;
before(async () => {
  server = await startPostgres();
});
after(() => server.cleanup());

async function cluster(t: { after(fn: () => unknown): void }, count: number, opts: Partial<ClusterMasterOptions> = {}) {
  const db = await PgDb.open({ url: await server.createDatabase(`cm_${++n}`) }, silentLogger());
  const masters = await Promise.all(
    Array.from({ length: count }, () => ClusterMaster.open(db, silentLogger(), { workerTimeoutMs: 200, taskRetries: 3, pollMs: 50, ...opts })),
  );
  t.after(async () => {
    for (const m of masters) await m.close();
    await db.close();
  });
  return { db, masters };
}

test("three instances race to reap a task whose worker is gone: it is re-queued exactly once", async (t) => {
  const { db } = await cluster(t, 3);
  // A task RUNNING on a worker that is attached to no live instance and was last seen long ago.
  const task = create(TaskSchema, { id: "orphan", state: TaskState.RUNNING, workerId: "ghost", attempt: 1, command: { program: "echo" }, createdAt: timestampFromMs(0) });
  await db.query("INSERT INTO tasks (id, state, worker_id, attempt, data) VALUES ($1, $2, $3, $4, $5)", [task.id, task.state, task.workerId, 1, toBinary(TaskSchema, task)]);
  await db.query("INSERT INTO nodes (id, data, instance_id, seen_at) VALUES ('ghost', $1, 'dead-instance', now() - interval '1 minute')", [
    toBinary(NodeSchema, create(NodeSchema, { id: "ghost", status: NodeStatus.ONLINE })),
  ]);
  await eventually(async () => (await db.query("SELECT state FROM tasks WHERE id = 'orphan'")).rows[0]?.state === TaskState.QUEUED, 10_000, "re-queued");
  // Several more polls of all three instances: still exactly one re-queue event.
  await new Promise((r) => setTimeout(r, 500));
  const events = await db.query("SELECT count(*)::int AS n FROM task_events WHERE task_id = 'orphan'");
  assert.equal(events.rows[0]?.n, 1);
  const node = await db.query("SELECT instance_id FROM nodes WHERE id = 'ghost'");
  assert.equal(node.rows[0]?.instance_id, null, "detached from the dead instance");
});

test("watch resumption: from a kept sequence it replays without a gap; from a pruned one it is OUT_OF_RANGE", async (t) => {
  const { masters } = await cluster(t, 2, { eventRetention: 5 });
  const [a, b] = masters as [ClusterMaster, ClusterMaster];
  for (let i = 0; i < 12; i++) await a.submit(create(SubmitTaskRequestSchema, { command: { program: "echo" } }));
  // Pruning runs with the poll.
  await eventually(async () => {
    try {
      (await b.watch("", false, 1n)).dispose();
      return false;
    } catch (err) {
      return err instanceof ConnectError && err.code === Code.OutOfRange;
    }
  }, 10_000, "old events pruned");
  const w = await b.watch("", false, 9n);
  const signal = new AbortController().signal;
  const seqs: bigint[] = [];
  for (let i = 0; i < 3; i++) seqs.push((await w.queue.next(signal))!.sequence);
  w.dispose();
  assert.deepEqual(seqs, [10n, 11n, 12n]);
});
