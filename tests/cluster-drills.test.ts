// Failover drills on one local cluster (scripts/cluster: etcd, PostgreSQL,
// 3 NATS nodes, 3 instances with --postgres), shared by every drill in this
// file: a client through etcd discovery under steady load while an instance
// is stopped (SIGSTOP), killed, restarted one by one, PostgreSQL restarts and
// etcd goes down. Each drill prints its numbers (calls, failed, acknowledged,
// lost, seconds to recover) as one "drill" JSON line; the README's cluster
// section has a table of the last run.
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { OrderService } from "../gen/order/v1/order_pb.js";
import { createBalancedTransport, type BalancedTransport } from "../node-client/src/discovery/balanced-transport.ts";
import { createTransport } from "../node-client/src/transport.ts";
import { freeClusterPorts, startLocalCluster, type LocalCluster } from "../scripts/cluster/local-cluster.ts";
import { steadyLoad } from "./harness/etcd.ts";
import { eventually } from "./harness/eventually.ts";

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
  orders = createClient(OrderService, transport);
  await transport.ready(20_000);
  await eventually(() => transport.endpoints().length === 3, 20_000, "3 endpoints");
  await orders.addOrder({ order: { id: "drill-seed", items: ["x"], priceCents: 1n, destination: "Oslo" } });
}, { timeout: 180_000 });

after(async () => {
  await transport?.close();
  await cluster?.stop();
  rmSync(parent, { recursive: true, force: true });
});

/** One drill's numbers, printed as a JSON line. */
function report(drill: string, numbers: Record<string, number | string>): void {
  process.stdout.write(`drill ${JSON.stringify({ drill, ...numbers })}\n`);
}

/** Steady GetOrder load; `slowestMs` is the longest call (a call stuck on a stopped instance until detected). */
function idempotentLoad() {
  let slowestMs = 0;
  const load = steadyLoad(async () => {
    const t0 = Date.now();
    try {
      await orders.getOrder({ id: "drill-seed" }, { timeoutMs: 20_000 });
    } finally {
      slowestMs = Math.max(slowestMs, Date.now() - t0);
    }
  }, 4);
  return { ...load, slowestMs: () => slowestMs };
}

/** AddOrder in a loop; the ids acknowledged. */
function producers(prefix: string) {
  const acked: string[] = [];
  let n = 0;
  const load = steadyLoad(async () => {
    const id = `${prefix}-${n++}`;
    await orders.addOrder({ order: { id, items: ["y"], priceCents: 2n, destination: "Bergen" } }, { timeoutMs: 20_000 });
    acked.push(id);
  }, 2);
  return { acked, load };
}

/** Ids of `acked` that `address` cannot read (direct connection to that instance). */
async function missingOn(address: string, acked: readonly string[]): Promise<string[]> {
  const t = createTransport({ baseUrl: `http://${address}` });
  const c = createClient(OrderService, t);
  const missing: string[] = [];
  try {
    for (const id of acked) {
      try {
        await c.getOrder({ id }, { timeoutMs: 5000 });
      } catch {
        missing.push(id);
      }
    }
  } finally {
    await t.close();
  }
  return missing;
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

test("kill -9 of an instance: no failed idempotent call, every acknowledged order readable on every survivor", { timeout: 120_000 }, async () => {
  const victim = cluster.instances[2]!;
  const load = idempotentLoad();
  const prod = producers("kill9");
  await sleep(1000);
  const killedAt = Date.now();
  process.kill(victim.process.pid, "SIGKILL");
  await sleep(3000);
  const r = await load.stop();
  const p = await prod.load.stop();
  const lastToVictim = attempts.filter((a) => a.host === victim.address && a.t >= killedAt).at(-1)?.t ?? killedAt;
  const lost: string[] = [];
  for (const s of cluster.instances.filter((i) => i !== victim)) lost.push(...(await missingOn(s.address, prod.acked)));
  report("kill -9 instance", {
    calls: r.ok + r.failed + p.ok + p.failed,
    failedIdempotent: r.failed,
    failedWrites: p.failed,
    acknowledged: prod.acked.length,
    lost: lost.length,
    lastAttemptToKilledSeconds: seconds(lastToVictim - killedAt),
    slowestCallSeconds: seconds(load.slowestMs()),
  });
  assert.equal(r.failed, 0, r.errors.join("\n"));
  assert.ok(prod.acked.length > 0);
  assert.deepEqual(lost, []);
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
  const lost = await missingOn(cluster.instances[0]!.address, prod.acked);
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
