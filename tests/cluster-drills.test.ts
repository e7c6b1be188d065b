// Failover drills on one local cluster (scripts/cluster: etcd, PostgreSQL,
// 3 NATS nodes, 3 instances with --postgres and --nats), shared by every
// drill in this file: a client through etcd discovery under steady load
// (GetOrder + Consume; AddOrder + Produce; SubmitTask with a `switchboard
// worker` found through etcd) while an instance is stopped (SIGSTOP),
// killed, restarted one by one, PostgreSQL restarts, etcd goes down and a
// NATS server is killed. Each drill prints its numbers (calls, failed,
// acknowledged, lost, seconds to recover) as one "drill" JSON line;
// docs/cluster-mode.md has a table of the last run.
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { BackendHealth, ClusterService } from "@switchboard/gen/cluster/v1/cluster_pb.js";
import { LogService } from "@switchboard/gen/log/v1/log_pb.js";
import { NodeService, TaskState } from "@switchboard/gen/node/v1/node_pb.js";
import { OrderService } from "@switchboard/gen/order/v1/order_pb.js";
import { createBalancedTransport, type BalancedTransport } from "@switchboard/node-client";
import { createTransport } from "@switchboard/node-client";
import { freeClusterPorts, startLocalCluster, type LocalCluster } from "../scripts/cluster/local-cluster.ts";
import { steadyLoad } from "@switchboard/test-harness/etcd";
import { eventually } from "@switchboard/test-harness/eventually";
import { startWorkerProcess, type WorkerProcess } from "@switchboard/test-harness/worker-process";

let cluster: LocalCluster;
let parent: string;
let transport: BalancedTransport;
/** Every call attempt the balancer made: endpoint and time. */
const attempts: Array<{ host: string; t: number }> = [];
const record: Interceptor = (next) => (req) => {
  attempts.push({ host: new URL(req.url).host, t: Date.now() });
  return next(req);
};
let orders: ReturnType<typeof createClient<typeof OrderService>>;
let log: ReturnType<typeof createClient<typeof LogService>>;
let nodes: ReturnType<typeof createClient<typeof NodeService>>;
/** A `switchboard worker` that finds the instances through etcd (and fails over). */
let worker: WorkerProcess;
/** A record produced before the drills, read by the steady Consume load. */
const seedValue = new TextEncoder().encode("drill-seed");
let seedOffset: bigint;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

before(async () => {
  parent = mkdtempSync(path.join(tmpdir(), "switchboard-drills-"));
  chmodSync(parent, 0o755); // the postgres user must reach its directory
  cluster = await startLocalCluster({
    instances: 3,
    dataDir: path.join(parent, "cluster"),
    ...(await freeClusterPorts(3)),
    // A long lease: a stopped instance must be found by the client's PINGs, not by its key expiring.
    serverArgs: ["--lease-ttl", "30", "--no-request-log", "--deregister-grace-ms", "1500"],
  });
  transport = createBalancedTransport({
    etcd: cluster.etcd.url,
    service: OrderService.typeName,
    interceptors: [record],
    pingIntervalMs: 1000,
    pingTimeoutMs: 2000,
  });
  // Every instance hosts every service: one balanced transport serves all clients.
  orders = createClient(OrderService, transport);
  log = createClient(LogService, transport);
  nodes = createClient(NodeService, transport);
  await transport.ready(20_000);
  await eventually(() => transport.endpoints().length === 3, 20_000, "3 endpoints");
  await orders.addOrder({ order: { id: "drill-seed", items: ["x"], priceCents: 1n, destination: "Oslo" } });
  seedOffset = (await log.produce({ record: { value: seedValue } }, { timeoutMs: 20_000 })).offset;
  // The log is the shared JetStream stream: the record is on every instance.
  const status = await createClient(ClusterService, transport).getInstanceStatus({});
  assert.equal(status.instance?.backends.find((b) => b.role === "log")?.kind, "jetstream", "instances run with --nats");
  worker = startWorkerProcess({
    serverUrl: undefined,
    id: "drill-worker",
    capacity: 4,
    allow: ["echo"],
    labels: { pool: "drill" },
    args: ["--etcd", cluster.etcd.url, "--heartbeat-interval", "300ms"],
  });
  await worker.waitForEvent((e) => e.event === "connected", 30_000);
}, { timeout: 180_000 });

after(async () => {
  await worker?.cleanup();
  await transport?.close();
  await cluster?.stop();
  rmSync(parent, { recursive: true, force: true });
});

/** One drill's numbers, printed as a JSON line. */
function report(drill: string, numbers: Record<string, number | string>): void {
  process.stdout.write(`drill ${JSON.stringify({ drill, ...numbers })}\n`);
}

/** Steady GetOrder + Consume load; `slowestMs` is the longest call (a call stuck on a stopped instance until detected). */
function idempotentLoad() {
  let slowestMs = 0;
  const load = steadyLoad(async (n) => {
    const t0 = Date.now();
    try {
      if (n % 2 === 0) await orders.getOrder({ id: "drill-seed" }, { timeoutMs: 20_000 });
      else {
        const r = await log.consume({ offset: seedOffset }, { timeoutMs: 20_000 });
        if (decoder.decode(r.record?.value) !== "drill-seed") throw new Error(`Consume(${seedOffset}) returned another record`);
      }
    } finally {
      slowestMs = Math.max(slowestMs, Date.now() - t0);
    }
  }, 4);
  return { ...load, slowestMs: () => slowestMs };
}

/** A log record acknowledged by Produce, with when the call started and ended. */
interface AckedRecord {
  offset: bigint;
  value: string;
  startedAt: number;
  ackedAt: number;
}

/** Produce in a loop (`concurrency` loops); the records acknowledged. */
function logProducers(prefix: string, concurrency = 1) {
  const records: AckedRecord[] = [];
  let n = 0;
  const load = steadyLoad(async () => {
    const value = `${prefix}-${n++}`;
    const startedAt = Date.now();
    const r = await log.produce({ record: { value: encoder.encode(value) } }, { timeoutMs: 20_000 });
    records.push({ offset: r.offset, value, startedAt, ackedAt: Date.now() });
  }, concurrency);
  return { records, load };
}

/** AddOrder and Produce in loops (2 + 1); the order ids and records acknowledged. */
function producers(prefix: string) {
  const acked: string[] = [];
  let n = 0;
  const orderLoad = steadyLoad(async () => {
    const id = `${prefix}-${n++}`;
    await orders.addOrder({ order: { id, items: ["y"], priceCents: 2n, destination: "Bergen" } }, { timeoutMs: 20_000 });
    acked.push(id);
  }, 2);
  const logs = logProducers(prefix);
  return {
    acked,
    records: logs.records,
    load: {
      async stop() {
        const [a, b] = await Promise.all([orderLoad.stop(), logs.load.stop()]);
        return { ok: a.ok + b.ok, failed: a.failed + b.failed, errors: [...a.errors, ...b.errors] };
      },
    },
  };
}

/** Acknowledged orders (ids) and records ("offset=value") that `address` cannot read (direct connection to that instance). */
async function missingOn(address: string, acked: readonly string[], records: readonly AckedRecord[] = []): Promise<string[]> {
  const t = createTransport({ baseUrl: `http://${address}` });
  const c = createClient(OrderService, t);
  const l = createClient(LogService, t);
  const missing: string[] = [];
  try {
    for (const id of acked) {
      try {
        await c.getOrder({ id }, { timeoutMs: 5000 });
      } catch {
        missing.push(id);
      }
    }
    for (const r of records) {
      const got = await l.consume({ offset: r.offset }, { timeoutMs: 5000 }).then((x) => decoder.decode(x.record?.value), (e: unknown) => String(e));
      if (got !== r.value) missing.push(`${r.offset}=${r.value} (got ${got})`);
    }
  } finally {
    await t.close();
  }
  return missing;
}

/** SubmitTask (echo, for the drill worker) in a loop; the task ids acknowledged. */
function submitters(prefix: string) {
  const acked: string[] = [];
  const load = steadyLoad(async (n) => {
    const r = await nodes.submitTask({ command: { program: "echo", args: [`${prefix}-${n}`] }, labels: { pool: "drill" } }, { timeoutMs: 20_000 });
    acked.push(r.taskId);
  }, 1);
  return { acked, load };
}

/** Acknowledged tasks not SUCCEEDED within `timeoutMs` (polling GetTask), with their state. */
async function unfinishedTasks(ids: readonly string[], timeoutMs = 30_000): Promise<string[]> {
  const until = Date.now() + timeoutMs;
  let pending = [...ids];
  for (;;) {
    const states = await Promise.all(
      pending.map(async (id) => [id, (await nodes.getTask({ taskId: id }, { timeoutMs: 5000 }).catch(() => undefined))?.task?.state] as const),
    );
    pending = states.filter(([, st]) => st !== TaskState.SUCCEEDED).map(([id]) => id);
    if (pending.length === 0 || Date.now() >= until) return states.filter(([, st]) => st !== TaskState.SUCCEEDED).map(([id, st]) => `${id}:${st === undefined ? "?" : TaskState[st]}`);
    await sleep(500);
  }
}

/** The instance whose log last says it holds the drill worker's AssignTask stream. */
function workerHolder(): (typeof cluster.instances)[number] | undefined {
  let best: { i: (typeof cluster.instances)[number]; time: number } | undefined;
  for (const i of cluster.instances) {
    for (const line of readFileSync(i.logFile, "utf8").split("\n")) {
      if (!line.includes('"worker connected"') || !line.includes('"drill-worker"')) continue;
      const time = Number((JSON.parse(line) as { time?: number }).time);
      if (!best || time > best.time) best = { i, time };
    }
  }
  return best?.i;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const seconds = (ms: number) => Math.round(ms / 100) / 10;

test("SIGSTOP: clients notice through HTTP/2 PINGs, fail over, and the instance rejoins after SIGCONT", { timeout: 120_000 }, async () => {
  const victim = cluster.instances[1]!;
  const load = idempotentLoad();
  await sleep(1000);
  const stoppedAt = Date.now();
  process.kill(victim.process.pid, "SIGSTOP");
  let okWhileStopped = 0;
  try {
    // Calls keep flowing while it is stopped: without detection every loop
    // would soon hang on it (a third of the picks) until the call deadline.
    await sleep(4000);
    const okThen = load.result.ok;
    await eventually(() => load.result.ok >= okThen + 40, 30_000, "calls flowing while an instance is stopped");
    okWhileStopped = load.result.ok - okThen;
  } finally {
    process.kill(victim.process.pid, "SIGCONT");
  }
  const lastToVictim = attempts.filter((a) => a.host === victim.address && a.t >= stoppedAt).at(-1)?.t ?? stoppedAt;
  const contAt = Date.now();
  await eventually(() => attempts.some((a) => a.host === victim.address && a.t > contAt), 60_000, "rejoined after SIGCONT");
  const rejoinedAfter = attempts.find((a) => a.host === victim.address && a.t > contAt)!.t - contAt;
  const r = await load.stop();
  report("sigstop", {
    calls: r.ok + r.failed,
    failed: r.failed,
    okWhileStopped,
    // The calls caught on the stopped instance waited this long for the PING timeout, then were retried elsewhere.
    slowestCallSeconds: seconds(load.slowestMs()),
    lastAttemptToStoppedSeconds: seconds(lastToVictim - stoppedAt),
    secondsToRejoin: seconds(rejoinedAfter),
  });
  assert.equal(r.failed, 0, r.errors.join("\n"));
});

test("kill -9 of an instance: no failed idempotent call, every acknowledged order, record and task kept; its workers re-attach elsewhere", { timeout: 120_000 }, async () => {
  // The victim is the instance holding the drill worker's stream.
  const victim = await eventually(workerHolder, 20_000, "the instance holding drill-worker");
  const load = idempotentLoad();
  const prod = producers("kill9");
  const tasks = submitters("kill9");
  await sleep(1000);
  const eventsBefore = worker.events.length;
  const killedAt = Date.now();
  process.kill(victim.process.pid, "SIGKILL");
  const reattached = worker.waitForEvent((e) => e.event === "connected" && worker.events.indexOf(e) >= eventsBefore, 30_000).then(() => Date.now());
  await sleep(3000);
  const r = await load.stop();
  const p = await prod.load.stop();
  const s = await tasks.load.stop();
  const reattachedAt = await reattached;
  const holder = await eventually(() => {
    const h = workerHolder();
    return h && h !== victim ? h : undefined;
  }, 20_000, "drill-worker held by a survivor");
  const lastToVictim = attempts.filter((a) => a.host === victim.address && a.t >= killedAt).at(-1)?.t ?? killedAt;
  const lost: string[] = [];
  for (const i of cluster.instances.filter((i) => i !== victim)) lost.push(...(await missingOn(i.address, prod.acked, prod.records)));
  const unfinished = await unfinishedTasks(tasks.acked);
  report("kill -9 instance", {
    calls: r.ok + r.failed + p.ok + p.failed + s.ok + s.failed,
    failedIdempotent: r.failed,
    failedWrites: p.failed + s.failed,
    acknowledged: prod.acked.length + prod.records.length,
    lost: lost.length,
    tasksAcknowledged: tasks.acked.length,
    tasksNotSucceeded: unfinished.length,
    lastAttemptToKilledSeconds: seconds(lastToVictim - killedAt),
    slowestCallSeconds: seconds(load.slowestMs()),
    workerReattachedSeconds: seconds(reattachedAt - killedAt),
  });
  assert.equal(r.failed, 0, r.errors.join("\n"));
  assert.ok(prod.acked.length > 0 && prod.records.length > 0 && tasks.acked.length > 0);
  assert.deepEqual(lost, []);
  assert.deepEqual(unfinished, []);
  assert.notEqual(holder.address, victim.address);
  await victim.restart();
  await eventually(() => transport.endpoints().includes(victim.address), 30_000, "killed instance back");
});

test("rolling restart of all 3 instances (SIGTERM, wait, start): 0 failed calls of any kind", { timeout: 180_000 }, async () => {
  const load = idempotentLoad();
  const prod = producers("rolling");
  const started = Date.now();
  for (const inst of cluster.instances) {
    await inst.stop();
    await inst.restart();
    await eventually(() => transport.endpoints().includes(inst.address), 30_000, `${inst.name} back`);
  }
  const r = await load.stop();
  const p = await prod.load.stop();
  const lost = await missingOn(cluster.instances[0]!.address, prod.acked, prod.records);
  report("rolling restart", { calls: r.ok + r.failed + p.ok + p.failed, failed: r.failed + p.failed, slowestCallSeconds: seconds(load.slowestMs()), acknowledged: prod.acked.length, lost: lost.length, seconds: seconds(Date.now() - started) });
  assert.equal(r.failed, 0, r.errors.join("\n"));
  assert.equal(p.failed, 0, p.errors.join("\n"));
  assert.deepEqual(lost, []);
});

test("PostgreSQL restart: calls fail with UNAVAILABLE during the outage, then succeed without restarting any instance", { timeout: 120_000 }, async () => {
  const prod = producers("pg");
  await sleep(1000);
  await prod.load.stop();
  const ackedBefore = [...prod.acked];
  await cluster.postgres.stop();
  const downAt = Date.now();
  const codes = new Set<string>();
  for (let i = 0; i < 5; i++) {
    try {
      await orders.getOrder({ id: "drill-seed" }, { timeoutMs: 10_000 });
      codes.add("OK");
    } catch (err) {
      codes.add(Code[ConnectError.from(err).code]);
    }
  }
  await cluster.postgres.restart();
  const upAt = Date.now();
  await eventually(async () => {
    try {
      await orders.getOrder({ id: "drill-seed" }, { timeoutMs: 5000 });
      return true;
    } catch {
      return false;
    }
  }, 30_000, "orders served again");
  const recovered = Date.now() - upAt;
  const lost: string[] = [];
  for (const s of cluster.instances) lost.push(...(await missingOn(s.address, ackedBefore)));
  report("postgres restart", { acknowledged: ackedBefore.length, lost: lost.length, outageCodes: [...codes].join(","), secondsDown: seconds(upAt - downAt), secondsToRecover: seconds(recovered) });
  assert.deepEqual([...codes], ["Unavailable"]);
  assert.deepEqual(lost, []);
});

test("etcd down: instances keep serving and the client keeps its last-known endpoints", { timeout: 120_000 }, async () => {
  const before = [...transport.endpoints()].sort();
  await cluster.etcd.stop();
  const load = idempotentLoad();
  await sleep(4000);
  const r = await load.stop();
  const during = [...transport.endpoints()].sort();
  await cluster.etcd.restart();
  report("etcd down", { calls: r.ok + r.failed, failed: r.failed, endpointsKept: during.length, slowestCallSeconds: seconds(load.slowestMs()) });
  assert.equal(r.failed, 0, r.errors.join("\n"));
  assert.ok(r.ok > 0);
  assert.deepEqual(during, before);
});

/** The log backend as instance `address` reports it (ClusterService.GetInstanceStatus). */
async function logBackend(address: string) {
  const t = createTransport({ baseUrl: `http://${address}` });
  try {
    const r = await createClient(ClusterService, t).getInstanceStatus({}, { timeoutMs: 5000 });
    return r.instance?.backends.find((b) => b.role === "log");
  } finally {
    await t.close();
  }
}

test("kill -9 of the NATS server leading the log stream: 0 acknowledged records lost, produce resumes, ConsumeStream goes on", { timeout: 120_000 }, async () => {
  const reporter = cluster.instances[0]!;
  const leader = (await logBackend(reporter.address))?.leader;
  const node = cluster.nats.nodes.find((n) => n.name === leader);
  assert.ok(node, `stream leader ${leader} is one of ${cluster.nats.nodes.map((n) => n.name).join(",")}`);
  const from = (await log.getOffsets({}, { timeoutMs: 10_000 })).nextOffset;
  // A tail reader on one instance (not through the balancer): it must see every acknowledged record, in order.
  const streamed = new Map<bigint, string>();
  const tail = new AbortController();
  const direct = createTransport({ baseUrl: `http://${cluster.instances[1]!.address}` });
  const reading = (async () => {
    for await (const m of createClient(LogService, direct).consumeStream({ offset: from }, { signal: tail.signal })) {
      streamed.set(m.record!.offset, decoder.decode(m.record!.value));
    }
  })().catch((err: unknown) => (tail.signal.aborted ? undefined : err));
  const prod = logProducers("nats", 2);
  await eventually(() => prod.records.length >= 10, 20_000, "records acknowledged before the kill");
  const killedAt = Date.now();
  await node.process.stop("SIGKILL");
  // Produce resumes: 20 acknowledgements of calls started after the kill, bounded.
  const afterKill = () => prod.records.filter((r) => r.startedAt >= killedAt);
  await eventually(() => afterKill().length >= 20, 30_000, "produce resumed after the kill");
  const p = await prod.load.stop();
  // A call in flight at the kill may still be acknowledged at once: count from the first call made after it.
  const firstAck = Math.min(...afterKill().map((r) => r.ackedAt));
  const acks = prod.records.map((r) => r.ackedAt).sort((a, b) => a - b);
  let longestGap = 0;
  for (let i = 1; i < acks.length; i++) longestGap = Math.max(longestGap, acks[i]! - acks[i - 1]!);
  const lost: string[] = [];
  for (const i of cluster.instances) lost.push(...(await missingOn(i.address, [], prod.records)));
  // The tail reader has every acknowledged record with its value (bounded wait).
  const notStreamed = () => prod.records.filter((r) => streamed.get(r.offset) !== r.value);
  await eventually(() => notStreamed().length === 0, 20_000, "ConsumeStream delivered every acknowledged record").catch(() => {});
  const missingFromStream = notStreamed().length;
  tail.abort();
  const streamError = await reading;
  await direct.close();
  const newLeader = (await logBackend(reporter.address))?.leader ?? "";
  report("kill -9 NATS stream leader", {
    calls: p.ok + p.failed,
    failed: p.failed,
    acknowledged: prod.records.length,
    lost: lost.length,
    missingFromConsumeStream: missingFromStream,
    secondsToFirstAck: seconds(firstAck - killedAt),
    // The outage as the producers saw it: the longest time between two acknowledgements.
    longestAckGapSeconds: seconds(longestGap),
    killed: node.name,
    newLeader,
  });
  assert.deepEqual(lost, []);
  assert.equal(missingFromStream, 0, String(streamError ?? ""));
  assert.notEqual(newLeader, node.name);
  // Back to three servers; the stream catches up (the status shows it healthy again).
  await node.restart();
  await eventually(async () => (await logBackend(reporter.address))?.health === BackendHealth.HEALTHY, 45_000, "the log stream healthy again");
});
