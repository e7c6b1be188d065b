// Cluster mode end to end: three real server processes on one throwaway
// PostgreSQL 15 (and one etcd for discovery), real `switchboard worker`
// processes and raw worker calls: one service from every instance.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { Health, HealthCheckResponse_ServingStatus as Serving } from "@switchboard/gen/grpc/health/v1/health_pb.js";
import { NodeService, NodeStatus, TaskState, type WatchTasksResponse } from "@switchboard/gen/node/v1/node_pb.js";
import { OrderService } from "@switchboard/gen/order/v1/order_pb.js";
import { startEtcd, type EtcdProcess } from "@switchboard/test-harness/etcd";
import { eventually } from "@switchboard/test-harness/eventually";
import { watchToEnd, watchUntil } from "@switchboard/test-harness/node-tasks";
import { startPostgres, type TestPostgres } from "@switchboard/test-harness/postgres";
import { startServerProcess, type ServerProcess } from "@switchboard/test-harness/server-process";
import { startWorkerProcess, type WorkerProcess } from "@switchboard/test-harness/worker-process";

const workerTimeoutMs = 4000;
const workerFlags = ["--heartbeat-interval", "300ms", "--kill-grace", "500ms"];

describe("cluster mode: 3 instances on one PostgreSQL", () => {
  let pg: TestPostgres;
  let etcd: EtcdProcess;
  const servers: ServerProcess[] = [];
  const workers: WorkerProcess[] = [];
  const sessions: Http2SessionManager[] = [];

  const serverArgs = () => [
    "--services", "order,node",
    "--postgres", pg.url,
    "--etcd", etcd.endpoint,
    "--worker-timeout", String(workerTimeoutMs),
    "--no-request-log",
    "--lease-ttl", "3",
    "--deregister-grace-ms", "0",
  ];
  const startServer = async () => {
    const s = await startServerProcess({ args: serverArgs() });
    let stderr = "";
    s.child.stderr!.on("data", (d) => (stderr += String(d)));
    void s.exited.then(({ code }) => {
      if (code !== null) console.error(`server on port ${s.port} exited with ${code}:\n${stderr}`);
    });
    servers.push(s);
    return s;
  };
  const alive = () => servers.filter((s) => s.child.exitCode === null && s.child.signalCode === null);
  const clientOf = <S extends typeof NodeService | typeof OrderService | typeof Health>(service: S, s: ServerProcess) => {
    const m = new Http2SessionManager(s.url);
    sessions.push(m);
    return createClient(service, createGrpcTransport({ baseUrl: s.url, sessionManager: m }));
  };
  const nodes = (s: ServerProcess) => clientOf(NodeService, s);
  const startWorker = (id: string, opts: { server?: ServerProcess; labels?: Record<string, string>; capacity?: number } = {}) => {
    const w = startWorkerProcess({
      serverUrl: opts.server?.url,
      id,
      capacity: opts.capacity ?? 1,
      allow: ["echo", "sleep", "sh"],
      labels: opts.labels,
      // Without `server`: discover the instances through etcd (and fail over).
      args: [...workerFlags, ...(opts.server ? [] : ["--etcd", etcd.endpoint])],
    });
    workers.push(w);
    return w;
  };
  /** The instance whose log says the worker's AssignTask stream is attached to it (the latest one). */
  const holderOf = (workerId: string) =>
    eventually(() => {
      let best: { s: ServerProcess; time: number } | undefined;
      for (const s of alive()) {
        for (const l of s.logs) {
          if (l.msg === "worker connected" && l.workerId === workerId && (!best || Number(l.time) > best.time)) best = { s, time: Number(l.time) };
        }
      }
      return best?.s;
    }, 20_000, `instance holding ${workerId}`);

  before(async () => {
    [pg, etcd] = await Promise.all([startPostgres(), startEtcd()]);
    // Three instances starting at once: migrations and seeding happen once.
    await Promise.all([startServer(), startServer(), startServer()]);
  });

  after(async () => {
    // Warnings and errors of every instance, to diagnose a failure.
    for (const [i, srv] of servers.entries()) {
      for (const l of srv.logs) if (Number(l.level) >= 40) console.error(`server ${i}:`, JSON.stringify(l));
    }
    for (const m of sessions) m.abort();
    await Promise.all(workers.map((w) => w.cleanup()));
    await Promise.all(servers.map((s) => s.cleanup()));
    await Promise.all([pg?.cleanup(), etcd?.cleanup()]);
  });

  test("orders: one store behind every instance (add at A, read at B and C, all-or-nothing update at C)", async () => {
    const [a, b, c] = servers.map((s) => clientOf(OrderService, s)) as [Client<typeof OrderService>, Client<typeof OrderService>, Client<typeof OrderService>];
    const seeded = [];
    for await (const r of b.searchOrders({ query: "" })) seeded.push(r.order!.id);
    assert.deepEqual(seeded, ["102", "103", "104", "105", "106"], "seeded once, though three instances started at once");
    await a.addOrder({ order: { id: "c-1", items: ["lamp"], description: "d", priceCents: 5n, destination: "Oslo" } });
    assert.deepEqual((await b.getOrder({ id: "c-1" })).order?.items, ["lamp"]);
    await assert.rejects(c.addOrder({ order: { id: "c-1", items: ["x"], destination: "y" } }), (e) => ConnectError.from(e).code === Code.AlreadyExists);
    async function* updates(ids: string[]) {
      for (const id of ids) yield { order: { id, items: [`new ${id}`], destination: "Bergen" } };
    }
    await assert.rejects(c.updateOrders(updates(["c-1", "nope"])), (e) => ConnectError.from(e).code === Code.NotFound);
    assert.deepEqual((await b.getOrder({ id: "c-1" })).order?.items, ["lamp"], "nothing changed");
    await c.updateOrders(updates(["c-1", "102"]));
    assert.deepEqual((await a.getOrder({ id: "c-1" })).order?.items, ["new c-1"]);
    await assert.rejects(b.getOrder({ id: "missing" }), (e) => ConnectError.from(e).code === Code.NotFound);
  });

  test("a worker's stream on C, its unary calls on A and B; a stale attempt is refused", async () => {
    const [a, b, c] = servers.map(nodes) as [Client<typeof NodeService>, Client<typeof NodeService>, Client<typeof NodeService>];
    const ac = new AbortController();
    const stream = c.assignTask({ workerId: "raw-1", capacity: 1, labels: { pool: "raw" } }, { signal: ac.signal })[Symbol.asyncIterator]();
    try {
      assert.equal((await stream.next()).value?.action.case, "registered");
      await b.reportStatus({ workerId: "raw-1", capacity: 1 }); // heartbeat through another instance
      const { taskId } = await a.submitTask({ command: { program: "echo", args: ["hi"] }, labels: { pool: "raw" } });
      const msg = (await stream.next()).value!;
      assert.equal(msg.action.case, "task");
      const task = msg.action.value as { id: string; attempt: number };
      assert.deepEqual([task.id, task.attempt], [taskId, 1]);
      await b.startTask({ workerId: "raw-1", taskId, attempt: 1 });
      assert.equal((await c.getTask({ taskId })).task?.state, TaskState.RUNNING);
      for (const stale of [{ attempt: 2, workerId: "raw-1" }, { attempt: 1, workerId: "raw-2" }]) {
        await assert.rejects(
          a.finishTask({ ...stale, taskId, state: TaskState.SUCCEEDED }),
          (e) => ConnectError.from(e).code === Code.FailedPrecondition,
        );
      }
      await a.finishTask({ workerId: "raw-1", taskId, attempt: 1, state: TaskState.SUCCEEDED, result: { exitCode: 0, stdout: "hi\n" } });
      const done = (await b.getTask({ taskId })).task!;
      assert.deepEqual([done.state, done.result?.stdout, done.workerId], [TaskState.SUCCEEDED, "hi\n", "raw-1"]);
      await assert.rejects(b.startTask({ workerId: "raw-1", taskId, attempt: 1 }), (e) => ConnectError.from(e).code === Code.FailedPrecondition);
      const listed = (await a.listNodes({})).nodes.find((n) => n.id === "raw-1");
      assert.equal(listed?.status, NodeStatus.ONLINE);
    } finally {
      ac.abort();
    }
    await eventually(async () => (await b.listNodes({})).nodes.find((n) => n.id === "raw-1")?.status === NodeStatus.OFFLINE, 15_000, "raw-1 offline");
    await assert.rejects(a.reportStatus({ workerId: "raw-1" }), (e) => ConnectError.from(e).code === Code.FailedPrecondition);
  });

  test("cross-instance dispatch and cancel: submitted at A, run by a worker on C, cancelled from B", async () => {
    const [a, b, c] = servers.map(nodes) as [Client<typeof NodeService>, Client<typeof NodeService>, Client<typeof NodeService>];
    const w = startWorker("w-c", { server: servers[2], labels: { pool: "c" } });
    await w.waitForEvent((e) => e.event === "connected");
    const quick = await a.submitTask({ command: { program: "echo", args: ["from A"] }, labels: { pool: "c" } });
    const { task } = await watchToEnd(b, quick.taskId);
    assert.deepEqual([task.state, task.workerId, task.attempt, task.result?.stdout], [TaskState.SUCCEEDED, "w-c", 1, "from A\n"]);

    const slow = await a.submitTask({ command: { program: "sleep", args: ["30"] }, labels: { pool: "c" } });
    await watchUntil(c, slow.taskId, TaskState.RUNNING);
    const cancelled = (await b.cancelTask({ taskId: slow.taskId, reason: "from B" })).task!;
    assert.equal(cancelled.state, TaskState.CANCELLED);
    // The worker on C was told and killed it (its report carries the kill).
    await w.waitForEvent((e) => e.event === "task-finished" && e.taskId === slow.taskId, 20_000);
    const after = await eventually(async () => {
      const t = (await a.getTask({ taskId: slow.taskId })).task!;
      return t.result ? t : undefined;
    }, 20_000, "the result of the cancelled task");
    assert.equal(after.state, TaskState.CANCELLED);
    assert.equal(after.reason, "from B");
    assert.notEqual(after.result!.signal, "");
    await w.stop();
  });

  test("WatchTasks at B sees every change made at A and C, and resumes after a reconnect with no gap", async () => {
    const [a, b, c] = servers.map(nodes) as [Client<typeof NodeService>, Client<typeof NodeService>, Client<typeof NodeService>];
    const ids = new Set<string>();
    const seen: WatchTasksResponse[] = [];
    const ac = new AbortController();
    const first = b.watchTasks({}, { signal: ac.signal })[Symbol.asyncIterator]();
    // Nobody matches these labels: each task goes QUEUED → CANCELLED.
    for (let i = 0; i < 5; i++) ids.add((await a.submitTask({ command: { program: "echo" }, labels: { pool: "nobody" } })).taskId);
    for (let i = 0; i < 3; i++) seen.push((await first.next()).value!);
    ac.abort();
    await first.return?.();
    for (const id of ids) await c.cancelTask({ taskId: id });
    const ac2 = new AbortController();
    const resumed = c.watchTasks({ afterSequence: seen.at(-1)!.sequence }, { signal: ac2.signal })[Symbol.asyncIterator]();
    try {
      while (seen.filter((m) => ids.has(m.task!.id)).length < 10) seen.push((await resumed.next()).value!);
    } finally {
      ac2.abort();
    }
    const mine = seen.filter((m) => ids.has(m.task!.id));
    const seqs = mine.map((m) => m.sequence);
    assert.deepEqual(seqs, [...seqs].sort((x, y) => (x < y ? -1 : 1)), "increasing");
    assert.equal(new Set(seqs).size, seqs.length, "no duplicate after the resume");
    for (const id of ids) {
      assert.deepEqual(mine.filter((m) => m.task!.id === id).map((m) => m.task!.state), [TaskState.QUEUED, TaskState.CANCELLED], id);
    }
    // The embedded-compatible snapshot still works.
    await assert.rejects(b.watchTasks({ taskId: "nope" })[Symbol.asyncIterator]().next(), (e) => ConnectError.from(e).code === Code.NotFound);
  });

  test("concurrent submitters at every instance and workers on every instance: no task lost, none run twice", async () => {
    const ws = servers.map((s, i) => startWorker(`w-load-${i}`, { server: s, labels: { pool: "load" }, capacity: 2 }));
    await Promise.all(ws.map((w) => w.waitForEvent((e) => e.event === "connected")));
    const clients = servers.map(nodes);
    const submitted = (
      await Promise.all(
        clients.map(async (cl, i) => {
          const out: string[] = [];
          for (let k = 0; k < 15; k++) {
            out.push((await cl.submitTask({ command: { program: "echo", args: [`${i}-${k}`] }, labels: { pool: "load" } })).taskId);
          }
          return out;
        }),
      )
    ).flat();
    const finals = await Promise.all(submitted.map((id, i) => watchToEnd(clients[i % 3]!, id).then((r) => r.task)));
    for (const t of finals) assert.deepEqual([t.state, t.attempt], [TaskState.SUCCEEDED, 1], `${t.id}: ${t.reason}`);
    const starts = ws.flatMap((w) => w.events.filter((e) => e.event === "task-started").map((e) => e.taskId as string));
    const load = starts.filter((id) => submitted.includes(id));
    assert.equal(load.length, submitted.length, "every task started exactly once");
    assert.equal(new Set(load).size, submitted.length);
    const ran = new Set(finals.map((t) => t.workerId));
    assert.ok(ran.size >= 2, `spread over workers on several instances: ${[...ran].join(",")}`);
    await Promise.all(ws.map((w) => w.stop()));
  });

  test("kill -9 of the instance holding a worker's stream: the worker fails over through etcd and keeps its running task", async () => {
    const w = startWorker("w-etcd", { labels: { pool: "etcd" } });
    await w.waitForEvent((e) => e.event === "connected");
    const victim = await holderOf("w-etcd");
    const survivor = alive().find((s) => s !== victim)!;
    const client = nodes(survivor);
    const { taskId } = await client.submitTask({ command: { program: "sleep", args: ["3"] }, labels: { pool: "etcd" } });
    await watchUntil(client, taskId, TaskState.RUNNING);
    await victim.stop("SIGKILL");
    const { task } = await watchToEnd(client, taskId).catch(async (e) => {
      console.error("diagnostics: worker events", JSON.stringify(w.events));
      console.error("diagnostics: task", JSON.stringify((await client.getTask({ taskId })).task));
      for (const s of alive()) console.error("diagnostics: logs of instance", s.port, JSON.stringify(s.logs.filter((l) => JSON.stringify(l).includes("w-etcd") || Number(l.level) >= 40)));
      throw e;
    });
    assert.equal(task.state, TaskState.SUCCEEDED, task.reason);
    assert.equal(task.attempt, 1, "kept by its worker across the failover, not re-run");
    assert.equal(w.events.filter((e) => e.event === "task-started" && e.taskId === taskId).length, 1);
    await w.stop();
    await startServer(); // back to three
  });

  test("a task whose worker and instance both die is re-queued once by a survivor and runs elsewhere", async () => {
    const [s1, s2] = alive() as [ServerProcess, ServerProcess];
    const doomed = startWorker("w-doomed", { server: s2, labels: { pool: "lost" } });
    await doomed.waitForEvent((e) => e.event === "connected");
    const client = nodes(s1);
    const { taskId } = await client.submitTask({ command: { program: "sleep", args: ["2"] }, labels: { pool: "lost" } });
    await watchUntil(client, taskId, TaskState.RUNNING);
    await Promise.all([doomed.stop("SIGKILL"), s2.stop("SIGKILL")]);
    const heir = startWorker("w-heir", { server: s1, labels: { pool: "lost" } });
    const { task, states } = await watchToEnd(client, taskId, 60_000);
    assert.equal(task.state, TaskState.SUCCEEDED, task.reason);
    assert.deepEqual([task.workerId, task.attempt], ["w-heir", 2]);
    assert.match(task.reason, /worker w-doomed did not come back/);
    assert.equal(states.filter((s) => s === TaskState.QUEUED).length, 1, "re-queued exactly once");
    assert.equal(heir.events.filter((e) => e.event === "task-started" && e.taskId === taskId).length, 1);
    await heir.stop();
    await startServer();
  });

  test("PostgreSQL restart under load: UNAVAILABLE and NOT_SERVING while it is down, recovery by itself, no acknowledged write lost", async () => {
    const ws = alive().map((s, i) => startWorker(`w-db-${i}`, { server: s, labels: { pool: "db" }, capacity: 2 }));
    await Promise.all(ws.map((w) => w.waitForEvent((e) => e.event === "connected")));
    const [x, y] = alive() as [ServerProcess, ServerProcess];
    const acked: string[] = [];
    const refused: Code[] = [];
    let stop = false;
    const submitters = alive().map(async (s) => {
      const cl = nodes(s);
      while (!stop) {
        try {
          acked.push((await cl.submitTask({ command: { program: "echo" }, labels: { pool: "db" } }, { timeoutMs: 15_000 })).taskId);
        } catch (e) {
          refused.push(ConnectError.from(e).code);
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    });
    const orders = clientOf(OrderService, x);
    const health = clientOf(Health, y);
    try {
    await orders.addOrder({ order: { id: "before-restart", items: ["kept"], destination: "Disk" } });
    await eventually(() => acked.length >= 10, 30_000, "some load before the restart");
    await pg.stop();
    for (const srv of alive()) assert.equal(srv.child.exitCode, null);
    await assert.rejects(orders.getOrder({ id: "before-restart" }, { timeoutMs: 15_000 }), (e) => ConnectError.from(e).code === Code.Unavailable);
    await eventually(async () => (await health.check({ service: "node.v1.NodeService" })).status === Serving.NOT_SERVING, 15_000, "NOT_SERVING");
    assert.equal((await health.check({ service: "order.v1.OrderService" })).status, Serving.NOT_SERVING);
    await pg.restart();
    await eventually(async () => (await health.check({ service: "node.v1.NodeService" })).status === Serving.SERVING, 20_000, "SERVING again");
    const ackedBefore = acked.length;
    await eventually(() => acked.length >= ackedBefore + 10, 30_000, "submissions succeed again");
    } finally {
      stop = true;
      await Promise.all(submitters);
    }
    assert.ok(refused.length > 0 && refused.every((c) => c === Code.Unavailable), `refused with: ${[...new Set(refused)].map((c) => Code[c])}`);
    assert.deepEqual((await orders.getOrder({ id: "before-restart" })).order?.items, ["kept"]);
    const cl = nodes(y);
    const finals = await Promise.all(acked.map((id) => watchToEnd(cl, id, 90_000).then((r) => r.task)));
    for (const t of finals) assert.equal(t.state, TaskState.SUCCEEDED, `${t.id}: ${t.reason}`);
    const starts = ws.flatMap((w) => w.events.filter((e) => e.event === "task-started").map((e) => `${e.taskId}`));
    for (const id of acked) assert.ok(starts.includes(id), `${id} ran`);
    // At-least-once across an outage: a re-run is a new attempt, never two at once.
    for (const t of finals) assert.equal(starts.filter((s) => s === t.id).length, t.attempt, t.id);
    await Promise.all(ws.map((w) => w.stop()));
  });
});
