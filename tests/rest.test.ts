// The REST/JSON gateway (google.api.http rules) against a real server
// process, with plain fetch: every rule's success, path and query mapping,
// bad bodies, 404, 401, NDJSON streams, CORS, /openapi.json, and round trips
// REST ⇄ gRPC.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import * as http2 from "node:http2";
import { Validator } from "@seriousme/openapi-schema-validator";
import { LogService } from "@switchboard/gen/log/v1/log_pb.js";
import { NodeService, TaskState } from "@switchboard/gen/node/v1/node_pb.js";
import { OrderService } from "@switchboard/gen/order/v1/order_pb.js";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { eventually } from "@switchboard/test-harness/eventually";
import { ndjsonReader } from "@switchboard/test-harness/ndjson";
import { startServerProcess, type ServerProcess } from "@switchboard/test-harness/server-process";

const token = "rest-test-token";
const maxMessageBytes = 64 * 1024;
let server: ServerProcess;
before(async () => {
  server = await startServerProcess({ args: ["--auth-token", token, "--max-message-bytes", String(maxMessageBytes)] });
});
after(() => server?.cleanup());

const auth = { authorization: `Bearer ${token}` };
const client = <T extends Parameters<typeof createClient>[0]>(s: T) =>
  createClient(s, createGrpcTransport({ baseUrl: server.url, interceptors: [(next) => (req) => (req.header.set("authorization", auth.authorization), next(req))] }));

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(server.url + path, {
    method,
    headers: { ...(body !== undefined ? { "content-type": "application/json" } : {}), ...headers },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: text ? (JSON.parse(text) as Record<string, any>) : undefined };
}

function assertStatus(r: { status: number; json?: Record<string, any> }, status: number, code: number): void {
  assert.equal(r.status, status, JSON.stringify(r.json));
  assert.equal(r.json?.code, code);
  assert.equal(typeof r.json?.message, "string");
  assert.ok(Array.isArray(r.json?.details));
}

test("GET /v1/orders/{id}: path mapping, 404 as google.rpc.Status", async () => {
  const r = await call("GET", "/v1/orders/102");
  assert.equal(r.status, 200);
  assert.match(r.headers.get("content-type") ?? "", /^application\/json/);
  assert.equal(r.json?.order.id, "102");
  assert.equal(r.json?.order.priceCents, "180000", "int64 as a string, Connect's JSON name");
  const missing = await call("GET", "/v1/orders/no-such-order");
  assertStatus(missing, 404, 5);
  assert.match(missing.json!.message, /no-such-order/);
});

test("POST /v1/orders (body: order) → gRPC GetOrder; gRPC AddOrder → GET /v1/orders/{id}", async () => {
  const created = await call("POST", "/v1/orders", { id: "rest-1", items: ["Lamp"], priceCents: "1200", destination: "Oslo" });
  assert.equal(created.status, 200, JSON.stringify(created.json));
  assert.deepEqual(created.json, { id: "rest-1" });
  const { order } = await client(OrderService).getOrder({ id: "rest-1" });
  assert.deepEqual([order?.items, order?.priceCents, order?.destination], [["Lamp"], 1200n, "Oslo"]);

  await client(OrderService).addOrder({ order: { id: "grpc-1", items: ["Desk"], priceCents: 9n, destination: "Rome" } });
  const back = await call("GET", "/v1/orders/grpc-1");
  assert.deepEqual(back.json?.order, { id: "grpc-1", items: ["Desk"], description: "", priceCents: "9", destination: "Rome" });

  const dup = await call("POST", "/v1/orders", { id: "rest-1", items: ["Lamp"], destination: "Oslo" });
  assertStatus(dup, 409, 6);
});

test("PATCH /v1/orders/{order.id} (body: order) → UpdateOrder: replaces the order, 404 unknown, 400 with violations", async () => {
  await client(OrderService).addOrder({ order: { id: "rest-upd", items: ["Chair"], description: "old", priceCents: 100n, destination: "Oslo" } });
  // The id comes from the path; the body is the whole new order.
  const updated = await call("PATCH", "/v1/orders/rest-upd", { items: ["Chair", "Cushion"], priceCents: "150", destination: "Bergen" });
  assert.equal(updated.status, 200, JSON.stringify(updated.json));
  assert.deepEqual(updated.json?.order, { id: "rest-upd", items: ["Chair", "Cushion"], description: "", priceCents: "150", destination: "Bergen" });
  const { order } = await client(OrderService).getOrder({ id: "rest-upd" });
  assert.deepEqual([order?.items, order?.priceCents, order?.destination, order?.description], [["Chair", "Cushion"], 150n, "Bergen", ""]);

  // The path wins over an id in the body.
  const pathWins = await call("PATCH", "/v1/orders/rest-upd", { id: "other-id", items: ["Table"], destination: "Bergen" });
  assert.equal(pathWins.status, 200, JSON.stringify(pathWins.json));
  assert.equal(pathWins.json?.order.id, "rest-upd");
  assertStatus(await call("GET", "/v1/orders/other-id"), 404, 5);

  const missing = await call("PATCH", "/v1/orders/rest-no-such", { items: ["x"], destination: "y" });
  assertStatus(missing, 404, 5);
  assert.match(missing.json!.message, /"rest-no-such"/);

  const invalid = await call("PATCH", "/v1/orders/rest-upd", { items: [], priceCents: "-5" });
  assertStatus(invalid, 400, 3);
  const [detail] = invalid.json!.details;
  assert.equal(detail["@type"], "type.googleapis.com/google.rpc.BadRequest");
  assert.deepEqual(
    detail.fieldViolations.map((v: { field: string }) => v.field),
    ["order.items", "order.destination", "order.price_cents"],
  );
  assertStatus(await call("PATCH", "/v1/orders/has%20space", { items: ["x"], destination: "y" }), 400, 3);
  assert.deepEqual((await client(OrderService).getOrder({ id: "rest-upd" })).order?.items, ["Table"], "unchanged by the rejected calls");
});

test("bad bodies → 400 with google.rpc.BadRequest field violations; too big → 413", async () => {
  const invalid = await call("POST", "/v1/orders", { id: "rest-bad", items: [] });
  assertStatus(invalid, 400, 3);
  const [detail] = invalid.json!.details;
  assert.equal(detail["@type"], "type.googleapis.com/google.rpc.BadRequest");
  assert.deepEqual(
    detail.fieldViolations.map((v: { field: string }) => v.field).sort(),
    ["order.destination", "order.items"],
  );

  const malformed = await call("POST", "/v1/tasks", "{not json", auth);
  assertStatus(malformed, 400, 3);
  assert.equal(malformed.json!.details[0].fieldViolations[0].field, "*");

  const unknown = await call("POST", "/v1/tasks", { command: { program: "echo", argz: ["x"] } }, auth);
  assertStatus(unknown, 400, 3);
  assert.equal(unknown.json!.details[0].fieldViolations[0].field, "command.argz");

  const badDuration = await call("POST", "/v1/tasks", { command: { program: "echo" }, timeout: "soon" }, auth);
  assertStatus(badDuration, 400, 3);
  assert.equal(badDuration.json!.details[0].fieldViolations[0].field, "timeout");

  const big = await call("POST", "/v1/log/records", { value: Buffer.alloc(maxMessageBytes).toString("base64") });
  assertStatus(big, 413, 8);
  assert.match(big.json!.message, /larger than configured readMaxBytes 65536/);
});

test("unknown REST paths → 404, a known path with another method → 405; methods without a rule are not exposed", async () => {
  assertStatus(await call("GET", "/v1/nope"), 404, 5);
  const wrongMethod = await call("DELETE", "/v1/orders/102");
  assertStatus(wrongMethod, 405, 12);
  assert.equal(wrongMethod.headers.get("allow"), "GET, PATCH");
  assertStatus(await call("POST", "/v1/orders:update", {}), 404, 5);
  assertStatus(await call("GET", "/v1/log/records/not-a-number"), 400, 3);
});

test("tasks: 401 without the token; POST /v1/tasks, GET /v1/tasks/{id}, GET /v1/tasks (query), :cancel, :watch", async () => {
  const denied = await call("POST", "/v1/tasks", { command: { program: "echo", args: ["hi"] } });
  assertStatus(denied, 401, 16);
  assert.equal(denied.headers.get("www-authenticate"), "Bearer");
  assert.ok(!JSON.stringify(denied.json).includes(token));
  assertStatus(await call("POST", "/v1/tasks", { command: { program: "echo" } }, { authorization: "Bearer wrong" }), 401, 16);

  const submitted = await call("POST", "/v1/tasks", { command: { program: "echo", args: ["hi"] }, timeout: "30s", labels: { zone: "rest" } }, auth);
  assert.equal(submitted.status, 200, JSON.stringify(submitted.json));
  const id = submitted.json!.taskId as string;
  assert.ok(id);

  // REST create → gRPC read.
  const viaGrpc = await client(NodeService).getTask({ taskId: id });
  assert.deepEqual([viaGrpc.task?.command?.program, viaGrpc.task?.labels, viaGrpc.task?.state], ["echo", { zone: "rest" }, TaskState.QUEUED]);

  const got = await call("GET", `/v1/tasks/${id}`);
  assert.equal(got.json?.task.id, id);
  assert.equal(got.json?.task.timeout, "30s");
  assert.equal(got.json?.task.state, "TASK_STATE_QUEUED");
  assertStatus(await call("GET", "/v1/tasks/no-such-task"), 404, 5);

  // gRPC create → REST list with query filters (repeated enum, page size, next page).
  const other = await client(NodeService).submitTask({ command: { program: "true" } });
  const page = await call("GET", "/v1/tasks?states=TASK_STATE_QUEUED&states=TASK_STATE_RUNNING&page_size=1");
  assert.equal(page.json?.tasks.length, 1);
  assert.equal(page.json?.tasks[0].id, other.taskId, "newest first");
  assert.ok(page.json?.nextPageToken);
  const next = await call("GET", `/v1/tasks?states=TASK_STATE_QUEUED&pageSize=1&pageToken=${encodeURIComponent(page.json!.nextPageToken)}`);
  assert.equal(next.json?.tasks[0].id, id);
  const none = await call("GET", "/v1/tasks?states=TASK_STATE_SUCCEEDED");
  assert.deepEqual(none.json?.tasks, []);
  const badQuery = await call("GET", "/v1/tasks?colour=red");
  assertStatus(badQuery, 400, 3);
  assert.equal(badQuery.json!.details[0].fieldViolations[0].field, "colour");

  // Watch one task (NDJSON) while it is cancelled over REST; the stream ends after the final state.
  const watch = await fetch(`${server.url}/v1/tasks/${id}:watch?send_initial=true`);
  assert.equal(watch.status, 200);
  assert.match(watch.headers.get("content-type") ?? "", /^application\/x-ndjson/);
  const lines = ndjsonReader(watch.body!);
  assert.equal(((await lines.next())?.result as any).task.state, "TASK_STATE_QUEUED");
  assert.equal(((await lines.next())?.result as any).snapshotDone, true);

  assertStatus(await call("POST", `/v1/tasks/${id}:cancel`, { reason: "no" }), 401, 16);
  const cancelled = await call("POST", `/v1/tasks/${id}:cancel`, { reason: "not needed" }, auth);
  assert.equal(cancelled.status, 200, JSON.stringify(cancelled.json));
  assert.deepEqual([cancelled.json?.task.state, cancelled.json?.task.reason], ["TASK_STATE_CANCELLED", "not needed"]);
  const rest = await lines.rest();
  assert.deepEqual(rest.map((l) => (l.result as any).task.state), ["TASK_STATE_CANCELLED"]);

  assertStatus(await call("POST", `/v1/tasks/${id}:cancel`, {}, auth), 400, 9); // FAILED_PRECONDITION
  assertStatus(await call("POST", "/v1/tasks/no-such-task:cancel", {}, auth), 404, 5);
  const watchMissing = await call("GET", "/v1/tasks/no-such-task:watch");
  assertStatus(watchMissing, 404, 5);
  // gRPC sees the REST cancel.
  assert.equal((await client(NodeService).getTask({ taskId: id })).task?.state, TaskState.CANCELLED);
});

test("GET /v1/nodes", async () => {
  const r = await call("GET", "/v1/nodes");
  assert.equal(r.status, 200);
  assert.deepEqual(r.json, { nodes: [] });
});

test("log: POST /v1/log/records, GET /v1/log/records/{offset}, OUT_OF_RANGE details, GET /v1/log/offsets", async () => {
  const value = Buffer.from("hello rest").toString("base64");
  const produced = await call("POST", "/v1/log/records", { value });
  assert.equal(produced.status, 200);
  const offset = produced.json!.offset as string;
  assert.match(offset, /^\d+$/, "offset written even when 0");
  const got = await call("GET", `/v1/log/records/${offset}`);
  assert.deepEqual(got.json, { record: { value, offset } });
  // gRPC produce → REST read.
  const viaGrpc = await client(LogService).produce({ record: { value: new TextEncoder().encode("from grpc") } });
  const back = await call("GET", `/v1/log/records/${viaGrpc.offset}`);
  assert.equal(Buffer.from(back.json!.record.value, "base64").toString(), "from grpc");
  // REST produce → gRPC read.
  const rec = await client(LogService).consume({ offset: BigInt(offset) });
  assert.equal(new TextDecoder().decode(rec.record?.value), "hello rest");

  const out = await call("GET", "/v1/log/records/999999");
  assertStatus(out, 400, 11);
  const [detail] = out.json!.details;
  assert.equal(detail["@type"], "type.googleapis.com/log.v1.OffsetOutOfRange");
  assert.equal(detail.requestedOffset, "999999");
  const offsets = await call("GET", "/v1/log/offsets");
  assert.equal(offsets.json?.nextOffset, String(viaGrpc.offset + 1n));

});

test("GET /v1/log/records follows (NDJSON flushed per record) and ends cleanly when the client goes away", async () => {
  const first = BigInt((await call("POST", "/v1/log/records", { value: "AQ==" })).json!.offset);
  const ac = new AbortController();
  const res = await fetch(`${server.url}/v1/log/records?offset=${first}`, { signal: ac.signal });
  assert.equal(res.status, 200);
  const lines = ndjsonReader(res.body!);
  assert.equal(((await lines.next())?.result as any).record.offset, String(first));
  // Appended after the stream started: arrives as its own line while the stream stays open.
  const second = await client(LogService).produce({ record: { value: new Uint8Array([2]) } });
  const line = await lines.next();
  assert.deepEqual((line?.result as any).record, { value: "Ag==", offset: String(second.offset) });
  ac.abort();
  // The interceptors saw the call end (request log: CANCELED), the server is fine.
  await eventually(
    () => server.logs.some((l) => l.msg === "rpc" && l.method === "log.v1.LogService/ConsumeStream" && l.code === "Canceled"),
    15_000,
    "ConsumeStream logged as Canceled",
  );
  assert.equal((await call("GET", "/v1/orders/102")).status, 200);
});

test("streams: ?stop_at_end=true ends; GET /v1/orders?query= lists matches; a deadline ends a follow with an error line", async () => {
  const all = await fetch(`${server.url}/v1/log/records?offset=0&stop_at_end=true`);
  const records = await ndjsonReader(all.body!).rest();
  assert.ok(records.length >= 2);
  assert.deepEqual(records.map((r) => (r.result as any).record.offset), records.map((_, i) => String(i)));

  const search = await fetch(`${server.url}/v1/orders?query=apple`);
  const found = await ndjsonReader(search.body!).rest();
  assert.deepEqual(found.map((l) => (l.result as any).order.id), ["103", "106"]);

  const next = (await call("GET", "/v1/log/offsets")).json!.nextOffset as string;
  const timed = await fetch(`${server.url}/v1/log/records?offset=${next}`, { headers: { "grpc-timeout": "600m" } });
  assert.equal(timed.status, 200);
  const end = await ndjsonReader(timed.body!).rest();
  assert.equal(end.length, 1);
  assert.equal((end[0]!.error as any).code, 4); // DEADLINE_EXCEEDED
});

test("responses over --max-message-bytes as JSON: RESOURCE_EXHAUSTED (429), mid-stream as the last line", async () => {
  // 50 KiB fits the limit in binary (gRPC) but not as base64 JSON: refused like connect's writeMaxBytes.
  const before = BigInt((await call("GET", "/v1/log/offsets")).json!.nextOffset);
  await client(LogService).produce({ record: { value: new Uint8Array([7]) } });
  const big = await client(LogService).produce({ record: { value: new Uint8Array(50 * 1024) } });
  const tooBig = await call("GET", `/v1/log/records/${big.offset}`);
  assertStatus(tooBig, 429, 8);
  assert.match(tooBig.json!.message, /larger than configured writeMaxBytes 65536/);
  const stream = await fetch(`${server.url}/v1/log/records?offset=${before}&stop_at_end=true`);
  assert.equal(stream.status, 200);
  const lines = await ndjsonReader(stream.body!).rest();
  assert.equal(lines.length, 2);
  assert.equal((lines[0]!.result as any).record.value, "Bw==");
  assert.equal((lines[1]!.error as any).code, 8);
});

test("the REST calls run through the interceptors (request log)", async () => {
  await call("GET", "/v1/orders/102");
  await call("POST", "/v1/tasks", { command: { program: "echo" } });
  await eventually(() =>
    server.logs.some((l) => l.msg === "rpc" && l.method === "order.v1.OrderService/GetOrder" && l.code === "OK" && l.protocol === "rest"),
  );
  await eventually(() => server.logs.some((l) => l.msg === "rpc" && l.method === "node.v1.NodeService/SubmitTask" && l.code === "Unauthenticated" && l.protocol === "rest"));
});

test("CORS like the other routes", async () => {
  const origin = "http://localhost:5173";
  const pre = await fetch(`${server.url}/v1/tasks`, {
    method: "OPTIONS",
    headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "authorization,content-type" },
  });
  assert.equal(pre.status, 204);
  assert.equal(pre.headers.get("access-control-allow-origin"), origin);
  assert.match(pre.headers.get("access-control-allow-headers") ?? "", /authorization/i);
  const get = await fetch(`${server.url}/v1/orders/102`, { headers: { origin } });
  assert.equal(get.headers.get("access-control-allow-origin"), origin);
  const other = await fetch(`${server.url}/v1/orders/102`, { headers: { origin: "http://evil.example" } });
  assert.equal(other.headers.get("access-control-allow-origin"), null);
});

test("REST over HTTP/2 (h2c) on the same port: unary and NDJSON", async () => {
  const session = http2.connect(server.url);
  const get = (path: string) =>
    new Promise<{ status: number; type: string; body: string }>((resolve, reject) => {
      const req = session.request({ ":method": "GET", ":path": path });
      let data = "";
      let status = 0;
      let type = "";
      req.on("response", (h) => {
        status = Number(h[":status"]);
        type = String(h["content-type"]);
      });
      req.setEncoding("utf8");
      req.on("data", (c: string) => (data += c));
      req.on("end", () => resolve({ status, type, body: data }));
      req.on("error", reject);
    });
  try {
    const one = await get("/v1/orders/102");
    assert.equal(one.status, 200);
    assert.equal(JSON.parse(one.body).order.id, "102");
    const list = await get("/v1/orders?query=apple");
    assert.match(list.type, /^application\/x-ndjson/);
    const ids = list.body.trim().split("\n").map((l) => JSON.parse(l).result.order.id);
    assert.deepEqual(ids, ["103", "106"]);
    assert.equal((await get("/v1/orders/nope-h2")).status, 404);
  } finally {
    session.close();
  }
});

test("/openapi.json is a valid OpenAPI 3 document of exactly the REST rules", async () => {
  const res = await fetch(`${server.url}/openapi.json`);
  assert.equal(res.status, 200);
  const doc = (await res.json()) as { paths: Record<string, Record<string, { operationId: string }>> };
  const result = await new Validator().validate(doc as never);
  assert.equal(result.valid, true, JSON.stringify(result.errors));
  const ops = Object.entries(doc.paths).flatMap(([p, o]) => Object.keys(o).map((m) => `${m.toUpperCase()} ${p}`));
  assert.deepEqual(ops.sort(), [
    "GET /v1/log/offsets",
    "GET /v1/log/records",
    "GET /v1/log/records/{offset}",
    "GET /v1/nodes",
    "GET /v1/orders",
    "GET /v1/orders/{id}",
    "GET /v1/tasks",
    "GET /v1/tasks/{task_id}",
    "GET /v1/tasks/{task_id}:watch",
    "GET /v1/tasks:watch",
    "PATCH /v1/orders/{order.id}",
    "POST /v1/log/records",
    "POST /v1/orders",
    "POST /v1/tasks",
    "POST /v1/tasks/{task_id}:cancel",
  ]);
  const ids = Object.values(doc.paths).flatMap((o) => Object.values(o).map((x) => x.operationId));
  for (const hidden of ["UpdateOrders", "ProcessOrders", "ProduceStream", "AssignTask", "ReportStatus", "StartTask", "FinishTask"]) {
    assert.ok(!ids.some((id) => id.endsWith(`_${hidden}`)), `${hidden} has no rule`);
  }
});

test("SIGTERM: an open REST follow stream ends with an UNAVAILABLE line and the process exits 0", async (t) => {
  const own = await startServerProcess({ args: ["--no-request-log", "--shutdown-timeout", "20000"] });
  t.after(() => own.cleanup());
  const res = await fetch(`${own.url}/v1/log/records?offset=0`);
  assert.equal(res.status, 200);
  const lines = ndjsonReader(res.body!);
  const exited = own.stop("SIGTERM");
  const rest = await lines.rest();
  assert.deepEqual(rest.map((l) => (l.error as { code: number } | undefined)?.code), [14]);
  assert.deepEqual(await exited, { code: 0, signal: null });
});
