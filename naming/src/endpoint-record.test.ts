import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeEndpoint, encodeEndpoint, endpointKey, serviceKeyPrefix } from "./endpoint-record.ts";
import { decodeWorker, workerKey } from "./worker-record.ts";

const md = { instanceId: "i-1", protocols: ["grpc"], version: "1.0.0", startTime: "2026-01-01T00:00:00.000Z" };

test("keys: trailing slash separates services and prefixes", () => {
  assert.equal(serviceKeyPrefix("switchboard/services/", "order.v1.OrderService"), "switchboard/services/order.v1.OrderService/");
  assert.equal(endpointKey("p", "a.B", "h:1"), "p/a.B/h:1");
  assert.ok(!endpointKey("foo_other", "a.B", "h:1").startsWith(serviceKeyPrefix("foo", "a.B")));
  assert.ok(!endpointKey("p", "a.BC", "h:1").startsWith(serviceKeyPrefix("p", "a.B")));
  assert.throws(() => serviceKeyPrefix("/", "a.B"), /must not be empty/);
});

test("value: etcd naming JSON round trip", () => {
  const value = encodeEndpoint("127.0.0.1:8080", md);
  assert.deepEqual(JSON.parse(value), { Op: 0, Addr: "127.0.0.1:8080", Metadata: md });
  assert.deepEqual(decodeEndpoint("p", "p/a.B/127.0.0.1:8080", value), {
    address: "127.0.0.1:8080",
    service: "a.B",
    metadata: md,
  });
});

test("decodeEndpoint ignores what is not an endpoint", async (t) => {
  const cases: Array<[string, string, string]> = [
    ["other prefix", "q/a.B/h:1", '{"Op":0,"Addr":"h:1"}'],
    ["no service segment", "p/h:1", '{"Op":0,"Addr":"h:1"}'],
    ["not JSON", "p/a.B/h:1", "h:1"],
    ["JSON null", "p/a.B/h:1", "null"],
    ["delete op", "p/a.B/h:1", '{"Op":1,"Addr":"h:1"}'],
    ["no Addr", "p/a.B/h:1", '{"Op":0}'],
  ];
  for (const [name, key, value] of cases) {
    await t.test(name, () => assert.equal(decodeEndpoint("p", key, value), undefined));
  }
  assert.deepEqual(decodeEndpoint("p", "p/a.B/h:1", '{"Addr":"h:1"}'), { address: "h:1", service: "a.B", metadata: undefined });
});

test("worker records", () => {
  assert.equal(workerKey("switchboard/workers/", "w1"), "switchboard/workers/w1");
  assert.throws(() => workerKey("p", "a/b"), /without "\/"/);
  assert.deepEqual(decodeWorker("p", "p/w1", '{"labels":{"zone":"a","n":1},"address":"h:1"}'), {
    id: "w1",
    labels: { zone: "a" },
    address: "h:1",
    instanceId: "",
    startTime: "",
  });
  assert.equal(decodeWorker("p", "p_other/w1", "{}"), undefined);
  assert.equal(decodeWorker("p", "p/w1", "nope"), undefined);
});
