import { test } from "node:test";
import assert from "node:assert/strict";
import { createRegistry } from "@bufbuild/protobuf";
import { ConnectError, Code } from "@connectrpc/connect";
import { file_node_v1_node, NodeService, TaskState, type SubmitTaskRequest, type ListTasksRequest, type CancelTaskRequest } from "@switchboard/gen/node/v1/node_pb.js";
import { file_order_v1_order, OrderService, type AddOrderRequest } from "@switchboard/gen/order/v1/order_pb.js";
import { fieldViolations } from "../errors.ts";
import type { HttpBinding } from "./http-rules.ts";
import { requestMessage } from "./request-message.ts";

const registry = createRegistry(file_node_v1_node, file_order_v1_order);
const enc = (s: string) => new TextEncoder().encode(s);
const binding = (method: HttpBinding["method"], body: string): HttpBinding => ({ method, verb: "POST", path: "/x", body, responseBody: "" });
const noPath = new Map<string, string>();

test("query parameters: nested (dotted, proto or JSON names), repeated, enums, WKT", () => {
  const m = requestMessage(
    binding(NodeService.method.submitTask, ""),
    noPath,
    new URLSearchParams("command.program=echo&command.args=a&command.args=b&timeout=1.5s&labels[zone]=eu&labels[tier]=gold"),
    undefined,
    registry,
  ) as SubmitTaskRequest;
  assert.equal(m.command?.program, "echo");
  assert.deepEqual(m.command?.args, ["a", "b"]);
  assert.equal(m.timeout?.seconds, 1n);
  assert.equal(m.timeout?.nanos, 500_000_000);
  assert.deepEqual(m.labels, { zone: "eu", tier: "gold" });
  const l = requestMessage(
    binding(NodeService.method.listTasks, ""),
    noPath,
    new URLSearchParams("states=TASK_STATE_QUEUED&states=6&pageSize=5&worker_id=w1"),
    undefined,
    registry,
  ) as ListTasksRequest;
  assert.deepEqual(l.states, [TaskState.QUEUED, TaskState.CANCELLED]);
  assert.equal(l.pageSize, 5);
  assert.equal(l.workerId, "w1");
});

test("body: \"field\" fills that field; path variables override; body \"*\" ignores the query", () => {
  const a = requestMessage(
    binding(OrderService.method.addOrder, "order"),
    noPath,
    new URLSearchParams(),
    enc('{"id":"x1","items":["a"],"priceCents":"5","destination":"d"}'),
    registry,
  ) as AddOrderRequest;
  assert.deepEqual([a.order?.id, a.order?.priceCents, a.order?.items], ["x1", 5n, ["a"]]);
  const c = requestMessage(
    binding(NodeService.method.cancelTask, "*"),
    new Map([["task_id", "t-9"]]),
    new URLSearchParams("reason=ignored"),
    enc('{"taskId":"other","reason":"why"}'),
    registry,
  ) as CancelTaskRequest;
  assert.deepEqual([c.taskId, c.reason], ["t-9", "why"]);
});

function violation(fn: () => unknown): { field: string; description: string } {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConnectError);
    assert.equal(err.code, Code.InvalidArgument);
    const [v] = fieldViolations(err);
    assert.ok(v, "has a field violation");
    return v;
  }
  assert.fail("expected INVALID_ARGUMENT");
}

test("bad input → INVALID_ARGUMENT with the field", () => {
  const submit = binding(NodeService.method.submitTask, "*");
  assert.equal(violation(() => requestMessage(submit, noPath, new URLSearchParams(), enc("{nope"), registry)).field, "*");
  assert.equal(violation(() => requestMessage(submit, noPath, new URLSearchParams(), enc("[1]"), registry)).field, "*");
  assert.equal(
    violation(() => requestMessage(submit, noPath, new URLSearchParams(), enc('{"command":{"progrm":"x"}}'), registry)).field,
    "command.progrm",
  );
  assert.equal(
    violation(() => requestMessage(submit, noPath, new URLSearchParams(), enc('{"timeout":"soon"}'), registry)).field,
    "timeout",
  );
  assert.equal(
    violation(() => requestMessage(submit, noPath, new URLSearchParams(), enc('{"command":{"args":["a",7,{}]}}'), registry)).field,
    "command.args[1]",
  );
  assert.match(
    violation(() => requestMessage(binding(NodeService.method.submitTask, ""), noPath, new URLSearchParams("labels=x"), undefined, registry)).description,
    /labels\[key\]=value/,
  );
  assert.match(
    violation(() => requestMessage(binding(NodeService.method.submitTask, ""), noPath, new URLSearchParams("timeout[x]=1"), undefined, registry)).description,
    /not a map field/,
  );
  const add = binding(OrderService.method.addOrder, "order");
  assert.match(
    violation(() => requestMessage(add, noPath, new URLSearchParams("order.id=x"), enc('{"id":"y"}'), registry)).description,
    /is the request body/,
  );
  const list = binding(NodeService.method.listTasks, "");
  assert.match(violation(() => requestMessage(list, noPath, new URLSearchParams("colour=red"), undefined, registry)).description, /no field "colour"/);
  assert.equal(violation(() => requestMessage(list, noPath, new URLSearchParams("page_size=x"), undefined, registry)).field, "page_size");
  assert.equal(violation(() => requestMessage(list, noPath, new URLSearchParams("states=NOPE"), undefined, registry)).field, "states[0]");
  assert.match(
    violation(() => requestMessage(list, noPath, new URLSearchParams("worker_id=a&worker_id=b"), undefined, registry)).description,
    /more than once/,
  );
});
