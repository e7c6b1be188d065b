// NodeService failure handling with real processes: a worker killed with
// SIGKILL mid-task, a master restart (same data dir and port), and a worker
// stopped with SIGTERM (drain).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { NodeService, NodeStatus, TaskState } from "@switchboard/gen/node/v1/node_pb.js";
import { startServerProcess, type ServerProcess } from "@switchboard/test-harness/server-process";
import { startWorkerProcess, type WorkerProcess } from "@switchboard/test-harness/worker-process";
import { watchToEnd, watchUntil } from "@switchboard/test-harness/node-tasks";
import { eventually } from "@switchboard/test-harness/eventually";

const alive = (w: WorkerProcess) => w.child.exitCode === null && w.child.signalCode === null;
// A worker timeout long enough for workers to reconnect (backoff) to a
// restarted master on a loaded machine; disconnects are noticed at once anyway.
const serverArgs = ["--services", "node", "--worker-timeout", "8000", "--no-request-log"];

describe("NodeService: failures", () => {
  let dataDir: string;
  let server: ServerProcess;
  const workers: WorkerProcess[] = [];
  const sessions: Http2SessionManager[] = [];
  let client: Client<typeof NodeService>;

  const startWorker = (id: string, extra: { labels?: Record<string, string>; args?: string[] } = {}) => {
    const w = startWorkerProcess({
      serverUrl: server.url,
      id,
      allow: ["echo", "sleep"],
      labels: extra.labels,
      args: ["--heartbeat-interval", "250ms", "--kill-grace", "500ms", ...(extra.args ?? [])],
    });
    workers.push(w);
    return w;
  };
  const connect = (url: string) => {
    const s = new Http2SessionManager(url);
    sessions.push(s);
    client = createClient(NodeService, createGrpcTransport({ baseUrl: url, sessionManager: s }));
  };

  before(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), "switchboard-node-failover-"));
    server = await startServerProcess({ dataDir, args: serverArgs });
    connect(server.url);
    await Promise.all([startWorker("w1"), startWorker("w2")].map((w) => w.waitForEvent((e) => e.event === "connected")));
  });

  after(async () => {
    for (const s of sessions) s.abort();
    await Promise.all(workers.map((w) => w.cleanup()));
    await server?.cleanup();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test("a worker killed with SIGKILL mid-task: the task is re-queued and completes on the other worker", async () => {
    // Long enough to be still running when the kill lands on a loaded machine.
    const { taskId } = await client.submitTask({ command: { program: "sleep", args: ["4"] } });
    const running = await watchUntil(client, taskId, TaskState.RUNNING);
    const victim = workers.find((w) => w.id === running.workerId)!;
    const survivor = running.workerId === "w1" ? "w2" : "w1";
    await victim.stop("SIGKILL");

    const { task, states } = await watchToEnd(client, taskId);
    assert.equal(task.state, TaskState.SUCCEEDED, task.reason);
    assert.equal(task.workerId, survivor);
    assert.equal(task.attempt, 2);
    // The re-queue left its reason (disconnect seen by the master, or missed heartbeats).
    assert.match(task.reason, new RegExp(`worker ${victim.id} (disconnected|missed heartbeats)`));
    assert.equal(states.at(-1), TaskState.SUCCEEDED);

    const nodes = (await client.listNodes({})).nodes;
    assert.equal(nodes.find((n) => n.id === victim.id)?.status, NodeStatus.OFFLINE);
    assert.equal(nodes.find((n) => n.id === survivor)?.status, NodeStatus.ONLINE);
    // The same id may come back.
    await startWorker(victim.id).waitForEvent((e) => e.event === "connected");
  });

  test("master restarted on the same data dir and port: workers reconnect and a queued task still runs", async () => {
    const live = workers.filter(alive);
    assert.equal(live.length, 2);
    // Both workers (capacity 1) busy, so the third task waits in the queue.
    const busy = await Promise.all(
      [1, 2].map(() => client.submitTask({ command: { program: "sleep", args: ["2"] } })),
    );
    const queued = await client.submitTask({ command: { program: "echo", args: ["after the restart"] } });
    assert.equal((await client.getTask({ taskId: queued.taskId })).task?.state, TaskState.QUEUED);
    await Promise.all(busy.map((b) => watchUntil(client, b.taskId, TaskState.RUNNING)));

    const connectedBefore = live.map((w) => w.events.filter((e) => e.event === "connected").length);
    const stopped = await server.stop("SIGTERM");
    assert.equal(stopped.code, 0);
    // The running tasks finish while there is no master: their results wait in the workers.
    await Promise.all(
      busy.map((b) =>
        Promise.race(live.map((w) => w.waitForEvent((e) => e.event === "task-finished" && e.taskId === b.taskId))),
      ),
    );
    server = await startServerProcess({ dataDir, port: server.port, args: serverArgs });
    connect(server.url);

    // The queued task survived in nodes.db and runs once the workers are back.
    const { task } = await watchToEnd(client, queued.taskId);
    assert.equal(task.state, TaskState.SUCCEEDED, task.reason);
    assert.equal(task.result?.stdout, "after the restart\n");
    // The tasks that finished during the restart: results delivered to the
    // new master, on their first attempt (kept, not re-queued).
    for (const b of busy) {
      const done = (await watchToEnd(client, b.taskId)).task;
      assert.equal(done.state, TaskState.SUCCEEDED, done.reason);
      assert.equal(done.attempt, 1);
    }
    // Both workers reconnect by themselves (a result can arrive before that: FinishTask is a plain call).
    await Promise.all(
      live.map((w, i) =>
        eventually(() => w.events.filter((e) => e.event === "connected").length > connectedBefore[i]!, 30_000, `${w.id} to reconnect`),
      ),
    );
    const online = (await client.listNodes({})).nodes.filter((n) => n.status === NodeStatus.ONLINE).map((n) => n.id);
    assert.deepEqual(online.sort(), live.map((w) => w.id).sort());
  });

  test("SIGTERM drains a worker: its running task finishes, the master is told, the worker exits 0", async () => {
    const { taskId } = await client.submitTask({ command: { program: "sleep", args: ["1"] } });
    const running = await watchUntil(client, taskId, TaskState.RUNNING);
    const worker = workers.find((w) => w.id === running.workerId && alive(w))!;

    // Watch the node list change: DRAINING while the task finishes.
    const exited = worker.stop("SIGTERM");
    await eventually(async () => {
      const n = (await client.listNodes({})).nodes.find((x) => x.id === worker.id);
      return n?.status === NodeStatus.DRAINING || n?.status === NodeStatus.OFFLINE ? true : undefined;
    });
    assert.deepEqual(await exited, { code: 0, signal: null });
    const { task } = await watchToEnd(client, taskId);
    assert.equal(task.state, TaskState.SUCCEEDED);
    assert.equal(task.workerId, worker.id);
    assert.ok(worker.events.some((e) => e.event === "draining"));
    await eventually(async () => {
      const n = (await client.listNodes({})).nodes.find((x) => x.id === worker.id);
      return n?.status === NodeStatus.OFFLINE ? true : undefined;
    });
  });

  test("SIGTERM with a task outlasting --drain-timeout: it is killed and given back (re-queued), the worker exits 0", async () => {
    const worker = startWorker("w-drain", { labels: { pool: "drain" }, args: ["--drain-timeout", "300ms"] });
    await worker.waitForEvent((e) => e.event === "connected");
    const { taskId } = await client.submitTask({ command: { program: "sleep", args: ["30"] }, labels: { pool: "drain" } });
    await watchUntil(client, taskId, TaskState.RUNNING);
    assert.deepEqual(await worker.stop("SIGTERM"), { code: 0, signal: null });
    // Only the stopped worker has the label, so the task waits in the queue.
    const task = await watchUntil(client, taskId, TaskState.QUEUED);
    assert.equal(task.reason, "worker w-drain stopped before the task finished");
    assert.equal(task.attempt, 1);
    assert.equal((await client.cancelTask({ taskId })).task?.state, TaskState.CANCELLED);
  });
});

