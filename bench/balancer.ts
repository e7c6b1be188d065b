// Benchmark of etcd discovery + the balancing transport — not a test. In one run:
//  1. SIGKILL of one of 3 instances under steady GetOrder load: time until the
//     last call attempt routed to it, until its key vanished (lease TTL), and
//     how many calls failed (expected 0: they are retried elsewhere).
//  2. A new instance registers: time from its registration (its log) to the
//     first call the balancer sends it.
//  3. Unary GetOrder calls/s through the balancing transport over 3 instances
//     vs a plain gRPC transport to one instance (ratio), alternating A B A B.
//     All servers share core 1 and the client runs on core 0, so the ratio
//     shows the balancer's client-side cost, not a capacity gain.
//  4. Spread of short-lived clients: --clients fresh balancing transports
//     (like CLI runs) each send one GetOrder; which instance got each first
//     call, with the random rotation start vs always starting at index 0.
//
//   node bench/balancer.ts [--seconds 3] [--concurrency 32] [--ttl 2] [--clients 60]
import { execFileSync } from "node:child_process";
import os from "node:os";
import { parseArgs } from "node:util";
import { createClient, type Interceptor } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { OrderService } from "@switchboard/gen/order/v1/order_pb.js";
import { createBalancedTransport } from "@switchboard/node-client";
import { startEtcd, steadyLoad } from "@switchboard/test-harness/etcd";
import { eventually } from "@switchboard/test-harness/eventually";
import { startServerProcess, type ServerProcess } from "@switchboard/test-harness/server-process";

const { values: flags } = parseArgs({
  options: {
    seconds: { type: "string", default: "3" },
    concurrency: { type: "string", default: "32" },
    ttl: { type: "string", default: "2" },
    clients: { type: "string", default: "60" },
  },
});
const seconds = Number(flags.seconds);
const concurrency = Number(flags.concurrency);
const ttl = Number(flags.ttl);
const prefix = "bench/services";
const pinned = os.availableParallelism() >= 2;

function pin(pid: number, core: number) {
  if (!pinned) return;
  try {
    execFileSync("taskset", ["-a", "-cp", String(core), String(pid)], { stdio: "ignore" });
  } catch {
    // taskset missing: run unpinned
  }
}

const etcd = await startEtcd();
pin(etcd.pid!, 1);
const servers: ServerProcess[] = [];
async function instance(): Promise<ServerProcess> {
  const s = await startServerProcess({
    args: ["--etcd", etcd.endpoint, "--lease-ttl", String(ttl), "--registry-prefix", prefix, "--services", "order"],
  });
  pin(s.pid, 1);
  servers.push(s);
  await eventually(() => s.logs.some((l) => l.msg === "registered in etcd"), 20_000, "registration");
  return s;
}
pin(process.pid, 0);

/** Every call attempt the balancer sends: endpoint and time. */
const attempts: Array<{ host: string; t: number }> = [];
const recordAttempts: Interceptor = (next) => (req) => {
  attempts.push({ host: new URL(req.url).host, t: Date.now() });
  return next(req);
};
const endpointChanges: Array<{ addresses: readonly string[]; t: number }> = [];

try {
  const three = await Promise.all([instance(), instance(), instance()]);
  const transport = createBalancedTransport({
    etcd: etcd.endpoint,
    service: OrderService.typeName,
    prefix,
    interceptors: [recordAttempts],
    onEndpoints: (addresses) => endpointChanges.push({ addresses: [...addresses], t: Date.now() }),
  });
  const client = createClient(OrderService, transport);
  await transport.ready(15_000);
  await eventually(() => transport.endpoints().length === 3, 10_000, "3 endpoints");

  // 1. SIGKILL under load.
  const load = steadyLoad(() => client.getOrder({ id: "102" }, { timeoutMs: 10_000 }), 8);
  await new Promise((r) => setTimeout(r, 1000));
  const victim = three[1]!;
  const victimHost = `127.0.0.1:${victim.port}`;
  const killedAt = Date.now();
  victim.child.kill("SIGKILL");
  await eventually(() => !transport.endpoints().includes(victimHost), (ttl + 10) * 1000, "victim removed");
  const removedAt = endpointChanges.find((c) => c.t >= killedAt && !c.addresses.includes(victimHost))!.t;
  await new Promise((r) => setTimeout(r, 500));
  const killResult = await load.stop();
  const toVictim = attempts.filter((a) => a.host === victimHost && a.t >= killedAt);
  const lastToVictim = toVictim.length ? toVictim[toVictim.length - 1]!.t - killedAt : 0;

  // 2. New instance: registration → first call.
  attempts.length = 0;
  const load2 = steadyLoad(() => client.getOrder({ id: "102" }, { timeoutMs: 10_000 }), 4);
  const fresh = await instance();
  const freshHost = `127.0.0.1:${fresh.port}`;
  await eventually(() => attempts.some((a) => a.host === freshHost), 10_000, "first call to the new instance");
  const registeredAt = fresh.logs.find((l) => l.msg === "registered in etcd")!.time as number;
  const discoveredAt = endpointChanges.find((c) => c.addresses.includes(freshHost))!.t;
  const firstCallAt = attempts.find((a) => a.host === freshHost)!.t;
  await load2.stop();

  // 3. Throughput: balanced over 3 instances vs direct to one.
  fresh.child.kill("SIGKILL");
  await eventually(() => transport.endpoints().length === 2, (ttl + 10) * 1000, "back to 2");
  const third = await instance();
  await eventually(() => transport.endpoints().length === 3, 10_000, "3 endpoints");
  void third;
  const direct = createClient(OrderService, createGrpcTransport({ baseUrl: three[0]!.url }));
  const plainBalanced = createBalancedTransport({ etcd: etcd.endpoint, service: OrderService.typeName, prefix });
  await plainBalanced.ready(15_000);
  const balancedClient = createClient(OrderService, plainBalanced);
  const rate = async (c: typeof direct) => {
    const l = steadyLoad(() => c.getOrder({ id: "102" }), concurrency);
    const start = Date.now();
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const r = await l.stop();
    return { rps: r.ok / ((Date.now() - start) / 1000), failed: r.failed };
  };
  await rate(direct); // warm-up
  await rate(balancedClient);
  const runs: Array<{ name: string; rps: number; failed: number }> = [];
  for (let i = 0; i < 2; i++) {
    runs.push({ name: "direct", ...(await rate(direct)) });
    runs.push({ name: "balanced", ...(await rate(balancedClient)) });
  }
  const avg = (name: string) => {
    const rs = runs.filter((r) => r.name === name);
    return rs.reduce((a, r) => a + r.rps, 0) / rs.length;
  };

  // 4. Short-lived clients: where does each one's first call land?
  const firstCalls = async (random?: () => number) => {
    const counts: Record<string, number> = {};
    for (const e of plainBalanced.endpoints()) counts[e] = 0;
    for (let i = 0; i < Number(flags.clients); i++) {
      const seen: string[] = [];
      const t = createBalancedTransport({
        etcd: etcd.endpoint,
        service: OrderService.typeName,
        prefix,
        random,
        interceptors: [(next) => (req) => (seen.push(new URL(req.url).host), next(req))],
      });
      await createClient(OrderService, t).getOrder({ id: "102" });
      await t.close();
      counts[seen[0]!] = (counts[seen[0]!] ?? 0) + 1;
    }
    return counts;
  };
  const spread = { clients: Number(flags.clients), randomStart: await firstCalls(), startAtZero: await firstCalls(() => 0) };

  const out = {
    firstCallSpread: spread,
    ttlSeconds: ttl,
    kill: {
      failedCalls: killResult.failed,
      errors: killResult.errors,
      okCalls: killResult.ok,
      attemptsToKilledAfterKill: toVictim.length,
      msToLastAttemptToKilled: lastToVictim,
      msToRemovedFromBalancer: removedAt - killedAt,
    },
    newInstance: {
      msRegistrationToDiscovered: discoveredAt - registeredAt,
      msRegistrationToFirstCall: firstCallAt - registeredAt,
    },
    throughput: {
      concurrency,
      seconds,
      runs: runs.map((r) => ({ ...r, rps: Math.round(r.rps) })),
      directRps: Math.round(avg("direct")),
      balancedRps: Math.round(avg("balanced")),
      ratio: Math.round((avg("balanced") / avg("direct")) * 100) / 100,
    },
  };
  console.log(JSON.stringify(out, null, 2));
  await transport.close();
  await plainBalanced.close();
} finally {
  await Promise.all(servers.map((s) => s.cleanup()));
  await etcd.cleanup();
}
