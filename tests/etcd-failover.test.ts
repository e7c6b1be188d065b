// Failures and restarts under load: kill -9, SIGTERM, a new instance.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createClient } from "@connectrpc/connect";
import { OrderService } from "@switchboard/gen/order/v1/order_pb.js";
import { createBalancedTransport } from "@switchboard/node-client";
import { etcdFixture, servedCount, steadyLoad } from "@switchboard/test-harness/etcd";
import { eventually } from "@switchboard/test-harness/eventually";
import { startServerProcess, type ServerProcess } from "@switchboard/test-harness/server-process";

const getOrder = "order.v1.OrderService/GetOrder";
const ttl = 3;
const fx = etcdFixture();
const servers = fx.servers;

async function instances(n: number, prefix: string): Promise<ServerProcess[]> {
  const started = await Promise.all(
    Array.from({ length: n }, () =>
      startServerProcess({
        args: ["--etcd", fx.etcd.endpoint, "--lease-ttl", String(ttl), "--registry-prefix", prefix, "--services", "order"],
      }),
    ),
  );
  servers.push(...started);
  await eventually(() => started.every((s) => s.logs.some((l) => l.msg === "registered in etcd")), 15_000, "registered");
  return started;
}

function balanced(prefix: string) {
  const transport = createBalancedTransport({ etcd: fx.etcd.endpoint, service: OrderService.typeName, prefix });
  return { transport, client: createClient(OrderService, transport) };
}

const keyOf = (prefix: string, s: ServerProcess) => `${prefix}/order.v1.OrderService/127.0.0.1:${s.port}`;

test("kill -9 of one instance under steady idempotent calls: zero failed calls, its key vanishes within the lease TTL", { timeout: 120_000 }, async (t) => {
  const prefix = "f1/services";
  const three = await instances(3, prefix);
  const { transport, client } = balanced(prefix);
  t.after(() => transport.close());
  await transport.ready(15_000);
  const load = steadyLoad(() => client.getOrder({ id: "102" }, { timeoutMs: 10_000 }), 8);
  const victim = three[1]!;
  await eventually(() => servedCount(victim.logs, getOrder) >= 20, 15_000, "victim serves calls");
  victim.child.kill("SIGKILL");
  const killedAt = Date.now();
  await victim.exited;
  await eventually(
    async () => (await fx.etcd.etcdctl(["get", "--keys-only", keyOf(prefix, victim)])).trim() === "",
    (ttl + 5) * 1000,
    "the killed instance's key to vanish",
  );
  const vanishedMs = Date.now() - killedAt;
  // Expiry within the TTL (the last keepalive was ≤ TTL/3 before the kill), plus etcd's ~0.5 s expiry checks.
  assert.ok(vanishedMs <= ttl * 1000 + 1000, `key vanished after ${vanishedMs} ms (TTL ${ttl} s)`);
  const okBefore = load.result.ok;
  await eventually(() => load.result.ok >= okBefore + 50, 15_000, "calls go on");
  const result = await load.stop();
  assert.equal(result.failed, 0, `failed calls: ${result.errors.join("; ")}`);
  assert.ok(result.ok > 50);
  assert.deepEqual([...transport.endpoints()].sort(), [three[0]!, three[2]!].map((s) => `127.0.0.1:${s.port}`).sort());
});

test("SIGTERM of one instance under mixed load: zero failed calls of any kind (deregister, grace, drain)", { timeout: 120_000 }, async (t) => {
  const prefix = "f2/services";
  const three = await instances(3, prefix);
  const { transport, client } = balanced(prefix);
  t.after(() => transport.close());
  await transport.ready(15_000);
  let id = 0;
  // Idempotent unary, non-idempotent unary and server-streaming calls.
  const loads = [
    steadyLoad(() => client.getOrder({ id: "102" }, { timeoutMs: 10_000 }), 2),
    steadyLoad(
      () =>
        client.addOrder(
          { order: { id: `sigterm-${id++}`, items: ["x"], priceCents: 1n, destination: "Here" } },
          { timeoutMs: 10_000 },
        ),
      2,
    ),
    steadyLoad(async () => {
      let n = 0;
      for await (const _ of client.searchOrders({ query: "" }, { timeoutMs: 10_000 })) n++;
      if (n === 0) throw new Error("empty search");
    }, 1),
  ];
  const victim = three[0]!;
  await eventually(() => servedCount(victim.logs, "order.v1.OrderService/AddOrder") >= 10, 15_000, "victim serves calls");
  const exit = await victim.stop("SIGTERM");
  assert.equal(exit.code, 0);
  const okBefore = loads.map((l) => l.result.ok);
  await eventually(() => loads.every((l, i) => l.result.ok >= okBefore[i]! + 5), 15_000, "calls go on");
  const results = await Promise.all(loads.map((l) => l.stop()));
  for (const r of results) assert.equal(r.failed, 0, `failed calls: ${r.errors.join("; ")}`);
  // It deregistered before draining.
  const msgs = victim.logs.map((l) => l.msg);
  assert.ok(msgs.indexOf("deregistered from etcd") < msgs.indexOf("stopped"));
  assert.equal((await fx.etcd.etcdctl(["get", "--keys-only", keyOf(prefix, victim)])).trim(), "");
});

test("a new instance receives calls within a second of registering", { timeout: 120_000 }, async (t) => {
  const prefix = "f3/services";
  await instances(2, prefix);
  const { transport, client } = balanced(prefix);
  t.after(() => transport.close());
  await transport.ready(15_000);
  const load = steadyLoad(() => client.getOrder({ id: "102" }, { timeoutMs: 10_000 }), 2);
  try {
    const [fresh] = await instances(1, prefix);
    await eventually(() => servedCount(fresh!.logs, getOrder) > 0, 10_000, "the new instance serves a call");
    const registeredAt = fresh!.logs.find((l) => l.msg === "registered in etcd")!.time as number;
    const firstCallAt = fresh!.logs.find((l) => l.msg === "rpc" && l.method === getOrder)!.time as number;
    assert.ok(firstCallAt - registeredAt < 1000, `first call ${firstCallAt - registeredAt} ms after registering`);
  } finally {
    const r = await load.stop();
    assert.equal(r.failed, 0, r.errors.join("; "));
  }
});
