// A worker that stays connected but stops sending heartbeats (SIGSTOP): the
// master gives up on it after --worker-timeout, re-queues its task to the
// other worker, and when the worker wakes up (SIGCONT) it reconnects and is
// told to stop its stale run.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { NodeService, NodeStatus, TaskState } from "@switchboard/gen/node/v1/node_pb.js";
import { startServerProcess, type ServerProcess } from "@switchboard/test-harness/server-process";
import { startWorkerProcess, type WorkerProcess } from "@switchboard/test-harness/worker-process";
import { watchUntil } from "@switchboard/test-harness/node-tasks";
import { eventually } from "@switchboard/test-harness/eventually";

let server: ServerProcess;
let workers: WorkerProcess[] = [];
let session: Http2SessionManager;
let client: Client<typeof NodeService>;

before(async () => {
  server = await startServerProcess({ args: ["--services", "node", "--worker-timeout", "1500", "--no-request-log"] });
  workers = ["h1", "h2"].map((id) =>
    startWorkerProcess({ serverUrl: server.url, id, allow: ["sleep"], args: ["--heartbeat-interval", "250ms", "--kill-grace", "300ms"] }),
  );
  session = new Http2SessionManager(server.url);
  client = createClient(NodeService, createGrpcTransport({ baseUrl: server.url, sessionManager: session }));
  await Promise.all(workers.map((w) => w.waitForEvent((e) => e.event === "connected")));
});

after(async () => {
  session?.abort();
  for (const w of workers) {
    if (w.child.exitCode === null && w.child.signalCode === null) process.kill(w.pid, "SIGCONT");
  }
  await Promise.all(workers.map((w) => w.cleanup()));
  await server?.cleanup();
});

test("missed heartbeats: the task moves to the other worker; the woken worker reconnects and stops its stale run", async () => {
  const { taskId } = await client.submitTask({ command: { program: "sleep", args: ["30"] } });
  const first = await watchUntil(client, taskId, TaskState.RUNNING);
  const frozen = workers.find((w) => w.id === first.workerId)!;
  const other = workers.find((w) => w !== frozen)!;
  process.kill(frozen.pid, "SIGSTOP");

  // Re-queued after the timeout and running again, on the other worker.
  const second = await eventually(async () => {
    const t = (await client.getTask({ taskId })).task!;
    return t.state === TaskState.RUNNING && t.attempt === 2 ? t : undefined;
  }, 30_000, "the second attempt to run");
  assert.equal(second.workerId, other.id);
  assert.equal(second.reason, `worker ${frozen.id} missed heartbeats for 1500ms`);
  const nodes = (await client.listNodes({})).nodes;
  assert.equal(nodes.find((n) => n.id === frozen.id)?.status, NodeStatus.OFFLINE);

  const connectedBefore = frozen.events.filter((e) => e.event === "connected").length;
  process.kill(frozen.pid, "SIGCONT");
  // It reconnects by itself and kills the run the master no longer wants.
  await frozen.waitForEvent((e) => e.event === "task-finished" && e.taskId === taskId && e.state === "CANCELLED");
  assert.ok(frozen.events.filter((e) => e.event === "connected").length > connectedBefore);
  await eventually(async () => {
    const n = (await client.listNodes({})).nodes.find((x) => x.id === frozen.id);
    return n?.status === NodeStatus.ONLINE ? true : undefined;
  });
  // The live attempt on the other worker is untouched.
  const now = (await client.getTask({ taskId })).task!;
  assert.deepEqual([now.state, now.workerId, now.attempt], [TaskState.RUNNING, other.id, 2]);
  assert.equal((await client.cancelTask({ taskId })).task?.state, TaskState.CANCELLED);
});
