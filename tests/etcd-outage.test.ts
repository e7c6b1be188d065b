// etcd itself goes away and comes back.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createClient } from "@connectrpc/connect";
import { OrderService } from "@switchboard/gen/order/v1/order_pb.js";
import { createBalancedTransport } from "@switchboard/node-client";
import { etcdFixture, servedCount, steadyLoad } from "@switchboard/test-harness/etcd";
import { eventually } from "@switchboard/test-harness/eventually";
import { startServerProcess, type ServerProcess } from "@switchboard/test-harness/server-process";

const getOrder = "order.v1.OrderService/GetOrder";
const prefix = "o1/services";
const fx = etcdFixture();
const servers = fx.servers;

function instance(): Promise<ServerProcess> {
  return startServerProcess({
    args: ["--etcd", fx.etcd.endpoint, "--lease-ttl", "2", "--registry-prefix", prefix, "--services", "order"],
  }).then((s) => (servers.push(s), s));
}

async function leasesOf(): Promise<Map<string, string>> {
  const out = await fx.etcd.etcdctl(["get", "--prefix", `${prefix}/`, "-w", "json"]);
  const json = JSON.parse(out) as { kvs?: Array<{ key: string; lease: number | string }> };
  return new Map((json.kvs ?? []).map((kv) => [Buffer.from(kv.key, "base64").toString(), String(kv.lease)]));
}

test("etcd stopped: calls go on; restarted: leases re-created, registrations back, a new instance is discovered", { timeout: 120_000 }, async (t) => {
  const two = await Promise.all([instance(), instance()]);
  await eventually(() => two.every((s) => s.logs.some((l) => l.msg === "registered in etcd")), 15_000, "registered");
  const leasesBefore = await leasesOf();
  assert.equal(leasesBefore.size, 2);

  const transport = createBalancedTransport({ etcd: fx.etcd.endpoint, service: OrderService.typeName, prefix });
  t.after(() => transport.close());
  const client = createClient(OrderService, transport);
  await transport.ready(15_000);
  const load = steadyLoad(() => client.getOrder({ id: "102" }, { timeoutMs: 10_000 }), 2);
  try {
    await fx.etcd.stop("SIGTERM");
    // Longer than the TTL: the servers' leases are lost client-side.
    await eventually(
      () => two.every((s) => s.logs.some((l) => l.msg === "etcd lease lost: registering again")),
      15_000,
      "both servers notice the lost lease",
    );
    const served = two.map((s) => servedCount(s.logs, getOrder));
    await eventually(
      () => two.every((s, i) => servedCount(s.logs, getOrder) > served[i]! + 10),
      10_000,
      "calls go on to both known instances while etcd is down",
    );
    // A new instance while etcd is down keeps serving and retries.
    const third = await instance();
    assert.equal(servedCount(third.logs, getOrder), 0);

    await fx.etcd.restart();
    await eventually(
      () => two.every((s) => s.logs.some((l) => l.msg === "re-registered in etcd with a new lease")),
      20_000,
      "both re-register",
    );
    await eventually(() => third.logs.some((l) => l.msg === "registered in etcd"), 20_000, "the new one registers");
    const leasesAfter = await leasesOf();
    assert.equal(leasesAfter.size, 3);
    for (const [key, lease] of leasesBefore) {
      assert.ok(leasesAfter.has(key), `${key} is registered again`);
      assert.notEqual(leasesAfter.get(key), lease, `${key} has a new lease`);
    }
    await eventually(() => servedCount(third.logs, getOrder) > 0, 15_000, "the new instance is discovered and called");
  } finally {
    const r = await load.stop();
    assert.equal(r.failed, 0, `failed calls: ${r.errors.join("; ")}`);
    assert.ok(r.ok > 0);
  }
});
