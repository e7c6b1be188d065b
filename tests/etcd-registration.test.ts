// Registration in a real etcd and balancing over real server processes.
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { ClusterService } from "@switchboard/gen/cluster/v1/cluster_pb.js";
import { OrderService } from "@switchboard/gen/order/v1/order_pb.js";
import { createBalancedTransport, createEtcdResolver } from "@switchboard/node-client";
import { etcdFixture, servedCount } from "@switchboard/test-harness/etcd";
import { eventually } from "@switchboard/test-harness/eventually";
import { startServerProcess, type ServerProcess } from "@switchboard/test-harness/server-process";

const getOrder = "order.v1.OrderService/GetOrder";
const fx = etcdFixture();
const servers = fx.servers;

async function instance(args: string[]): Promise<ServerProcess> {
  const s = await startServerProcess({ args: ["--etcd", fx.etcd.endpoint, "--lease-ttl", "3", ...args] });
  servers.push(s);
  return s;
}

const registered = (s: ServerProcess) => s.logs.some((l) => l.msg === "registered in etcd");

describe("three instances", () => {
  const prefix = "t1/services";
  let three: ServerProcess[];
  before(async () => {
    three = await Promise.all([0, 1, 2].map(() => instance(["--registry-prefix", prefix])));
    await eventually(() => three.every(registered), 15_000, "three registrations");
  });

  test("etcdctl get --prefix shows one documented key and JSON value per hosted service and instance", { timeout: 120_000 }, async () => {
    const out = (await fx.etcd.etcdctl(["get", "--prefix", `${prefix}/`])).trim().split("\n");
    const pairs = new Map<string, string>();
    for (let i = 0; i + 1 < out.length; i += 2) pairs.set(out[i]!, out[i + 1]!);
    for (const s of three) {
      const addr = `127.0.0.1:${s.port}`;
      for (const service of ["order.v1.OrderService", "log.v1.LogService", "node.v1.NodeService"]) {
        const value = pairs.get(`${prefix}/${service}/${addr}`);
        assert.ok(value, `missing key ${prefix}/${service}/${addr} in:\n${out.join("\n")}`);
        const v = JSON.parse(value) as { Op: number; Addr: string; Metadata: Record<string, unknown> };
        assert.equal(v.Op, 0);
        assert.equal(v.Addr, addr);
        assert.match(String(v.Metadata.instanceId), /^[0-9a-f-]{36}$/);
        assert.deepEqual(v.Metadata.protocols, ["grpc", "grpc-web", "connect"]);
        assert.equal(typeof v.Metadata.version, "string");
        assert.ok(!Number.isNaN(Date.parse(String(v.Metadata.startTime))));
      }
    }
    assert.equal(pairs.size, 9, `expected 9 keys, got:\n${[...pairs.keys()].join("\n")}`);
    // All keys of one instance share one lease.
    const json = JSON.parse(await fx.etcd.etcdctl(["get", "--prefix", `${prefix}/`, "-w", "json"])) as {
      kvs: Array<{ key: string; lease: number | string }>;
    };
    for (const s of three) {
      const leases = new Set(
        json.kvs
          .filter((kv) => Buffer.from(kv.key, "base64").toString().endsWith(`/127.0.0.1:${s.port}`))
          .map((kv) => String(kv.lease)),
      );
      assert.equal(leases.size, 1, `one lease per instance, got ${[...leases].join(",")}`);
      assert.notEqual([...leases][0], "0");
    }
  });

  test("300 calls through the balancing transport spread evenly (each within ±20% of a third)", { timeout: 120_000 }, async () => {
    const transport = createBalancedTransport({ etcd: fx.etcd.endpoint, service: OrderService.typeName, prefix });
    const client = createClient(OrderService, transport);
    try {
      await transport.ready(15_000);
      assert.equal(transport.endpoints().length, 3);
      const before = three.map((s) => servedCount(s.logs, getOrder));
      for (let i = 0; i < 30; i++) {
        await Promise.all(Array.from({ length: 10 }, () => client.getOrder({ id: "102" }, { timeoutMs: 10_000 })));
      }
      const served = () => three.map((s, i) => servedCount(s.logs, getOrder) - before[i]!);
      await eventually(() => served().reduce((a, b) => a + b, 0) === 300, 10_000, "300 rpc log lines");
      for (const n of served()) assert.ok(n >= 80 && n <= 120, `uneven spread: ${served().join(", ")}`);
    } finally {
      await transport.close();
    }
  });

  test("ClusterService lists the instances and streams changes", { timeout: 120_000 }, async () => {
    const client = createClient(ClusterService, createGrpcTransport({ baseUrl: three[0]!.url }));
    const list = await client.listInstances({ service: "order.v1.OrderService" });
    assert.equal(list.registryEnabled, true);
    assert.deepEqual(
      list.instances.map((i) => i.address),
      three.map((s) => `127.0.0.1:${s.port}`).sort(),
    );
    assert.deepEqual(list.instances[0]!.protocols, ["grpc", "grpc-web", "connect"]);
    assert.ok(list.instances[0]!.startTime);
    await assert.rejects(client.listInstances({ service: "not a name" }), /service: must be a fully qualified/);

    const ac = new AbortController();
    const stream = client.watchInstances({ service: "order.v1.OrderService" }, { signal: ac.signal });
    const it = stream[Symbol.asyncIterator]();
    const first = await it.next();
    assert.equal(first.value.instances.length, 3);
    const fourth = await instance(["--registry-prefix", prefix, "--services", "order"]);
    const next = await it.next();
    assert.equal(next.value.instances.length, 4);
    assert.ok(next.value.instances.some((i: { address: string }) => i.address === `127.0.0.1:${fourth.port}`));
    ac.abort();
    await it.return?.();
    await fourth.stop("SIGTERM");
  });
});

test("a service name that prefixes another, and a registry prefix that prefixes another, do not leak", { timeout: 120_000 }, async () => {
  const foo = await instance(["--registry-prefix", "t2/foo", "--services", "order"]);
  const fooOther = await instance(["--registry-prefix", "t2/foo_other", "--services", "order"]);
  await eventually(() => registered(foo) && registered(fooOther), 15_000, "registrations");
  // A foreign service whose name starts with "order.v1.OrderService".
  await fx.etcd.etcdctl(["put", "t2/foo/order.v1.OrderService_other/127.0.0.1:1", '{"Op":0,"Addr":"127.0.0.1:1"}']);
  const resolver = createEtcdResolver({ etcd: fx.etcd.endpoint, service: "order.v1.OrderService", prefix: "t2/foo" });
  try {
    await resolver.ready(15_000);
    assert.deepEqual(
      resolver.endpoints().map((e) => e.address),
      [`127.0.0.1:${foo.port}`],
    );
  } finally {
    await resolver.close();
  }
});

test("without --etcd nothing is registered and ClusterService says registry_enabled=false", { timeout: 120_000 }, async () => {
  const plain = await startServerProcess({ args: ["--services", "order"] });
  servers.push(plain);
  const client = createClient(ClusterService, createGrpcTransport({ baseUrl: plain.url }));
  const list = await client.listInstances({});
  assert.equal(list.registryEnabled, false);
  assert.equal(list.instances.length, 0);
  const workers = await client.listWorkers({});
  assert.equal(workers.registryEnabled, false);
  assert.equal(workers.workers.length, 0);
  const ac = new AbortController();
  const first = await client.watchInstances({}, { signal: ac.signal })[Symbol.asyncIterator]().next();
  assert.equal(first.value.registryEnabled, false);
  ac.abort();
  assert.ok(!plain.logs.some((l) => String(l.msg).includes("etcd")), "no etcd activity logged");
});

test("a revoked lease is noticed: a new lease is granted and the keys are put again", { timeout: 120_000 }, async () => {
  const s = await instance(["--registry-prefix", "t3/services", "--services", "order"]);
  await eventually(() => registered(s), 15_000, "registration");
  const leaseId = String(s.logs.find((l) => l.msg === "registered in etcd")!.leaseId);
  await fx.etcd.etcdctl(["lease", "revoke", leaseId]);
  await eventually(() => s.logs.some((l) => l.msg === "re-registered in etcd with a new lease"), 15_000, "re-registration");
  const again = s.logs.find((l) => l.msg === "re-registered in etcd with a new lease")!;
  assert.notEqual(again.leaseId, leaseId);
  assert.ok(s.logs.some((l) => l.msg === "etcd lease lost: registering again"), "the loss is logged");
  const keys = await fx.etcd.etcdctl(["get", "--prefix", "--keys-only", "t3/services/"]);
  assert.match(keys, new RegExp(`t3/services/order.v1.OrderService/127.0.0.1:${s.port}`));
});
