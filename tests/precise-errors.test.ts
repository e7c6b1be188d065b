// Precise errors for bad Connect input (issue 13 §4): undecodable GET
// messages, undecompressable bodies and unknown protocol versions answer
// 400 invalid_argument with a message, never 500 internal. (DATA_LOSS without
// absolute paths: tests/log-rpc.test.ts.)
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import * as http2 from "node:http2";
import { gzipSync } from "node:zlib";
import { create, toBinary } from "@bufbuild/protobuf";
import { GetOrderRequestSchema } from "@switchboard/gen/order/v1/order_pb.js";
import { startServerProcess, type ServerProcess } from "@switchboard/test-harness/server-process";

let server: ServerProcess;
before(async () => {
  server = await startServerProcess({ args: ["--services", "order", "--no-request-log"] });
});
after(() => server?.cleanup());

const getOrder = "/order.v1.OrderService/GetOrder";
const q = (params: Record<string, string>) => `${getOrder}?${new URLSearchParams(params)}`;
const proto102 = Buffer.from(toBinary(GetOrderRequestSchema, create(GetOrderRequestSchema, { id: "102" })));

interface Answer {
  status: number;
  body: string;
}

async function h1(path: string, init: RequestInit = {}): Promise<Answer> {
  const res = await fetch(server.url + path, { ...init, signal: AbortSignal.timeout(20_000) });
  return { status: res.status, body: await res.text() };
}

function h2(path: string, headers: http2.OutgoingHttpHeaders, body?: Buffer): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(server.url);
    session.on("error", reject);
    const req = session.request({ ":method": body === undefined ? "GET" : "POST", ":path": path, ...headers });
    let status = 0;
    const chunks: Buffer[] = [];
    req.on("response", (h) => (status = Number(h[":status"])));
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("error", reject);
    req.on("close", () => {
      session.close();
      resolve({ status, body: Buffer.concat(chunks).toString() });
    });
    req.setTimeout(20_000, () => req.close());
    req.end(body);
  });
}

function invalidArgument(a: Answer, message: RegExp): void {
  assert.equal(a.status, 400, a.body);
  const err = JSON.parse(a.body) as { code: string; message: string };
  assert.equal(err.code, "invalid_argument");
  assert.match(err.message, message);
}

const getCases: Array<{ name: string; params: Record<string, string>; message: RegExp }> = [
  { name: "bad base64", params: { connect: "v1", encoding: "proto", base64: "1", message: "!!!" }, message: /not base64/ },
  { name: "bad base64 (JSON)", params: { connect: "v1", encoding: "json", base64: "1", message: "@@@@" }, message: /not base64/ },
  { name: "bad protobuf", params: { connect: "v1", encoding: "proto", message: "\xff\xff\xff" }, message: /cannot decode order\.v1\.GetOrderRequest from binary/ },
  {
    name: "bad protobuf (base64)",
    params: { connect: "v1", encoding: "proto", base64: "1", message: Buffer.from([0x0a, 0x09, 0x31]).toString("base64url") },
    message: /cannot decode order\.v1\.GetOrderRequest from binary/,
  },
  { name: "bad JSON", params: { connect: "v1", encoding: "json", message: '{"id"' }, message: /JSON/ },
  { name: "an unknown JSON field", params: { connect: "v1", encoding: "json", message: '{"nope":1}' }, message: /nope/ },
  {
    name: "gzip garbage (compression=gzip)",
    params: { connect: "v1", encoding: "json", base64: "1", compression: "gzip", message: Buffer.from("garbage").toString("base64url") },
    message: /./,
  },
  { name: "connect=v2", params: { connect: "v2", encoding: "json", message: '{"id":"102"}' }, message: /"v2".*v1/ },
];

for (const c of getCases) {
  test(`Connect GET with ${c.name} → 400 invalid_argument (HTTP/1.1 and h2c)`, async () => {
    invalidArgument(await h1(q(c.params)), c.message);
    invalidArgument(await h2(q(c.params), {}), c.message);
  });
}

test("valid Connect GETs still answer (JSON, base64 proto, gzip)", async () => {
  const json = await h1(q({ connect: "v1", encoding: "json", message: '{"id":"102"}' }));
  assert.equal(json.status, 200, json.body);
  assert.equal((JSON.parse(json.body) as { order: { id: string } }).order.id, "102");
  const b64 = await h2(q({ connect: "v1", encoding: "proto", base64: "1", message: proto102.toString("base64url") }), {});
  assert.equal(b64.status, 200);
  const gz = await h1(
    q({ connect: "v1", encoding: "json", base64: "1", compression: "gzip", message: gzipSync('{"id":"102"}').toString("base64url") }),
  );
  assert.equal(gz.status, 200, gz.body);
  // No connect parameter at all is fine (curl users), as is an absent version header below.
  assert.equal((await h1(q({ encoding: "json", message: '{"id":"102"}' }))).status, 200);
});

for (const enc of ["br", "gzip"]) {
  test(`Connect POST with content-encoding ${enc} and garbage → 400 invalid_argument (HTTP/1.1 and h2c)`, async () => {
    const headers = { "content-type": "application/json", "content-encoding": enc };
    invalidArgument(await h1(getOrder, { method: "POST", headers, body: "garbage, not compressed" }), /decompress/);
    invalidArgument(await h2(getOrder, headers, Buffer.from("garbage, not compressed")), /decompress/);
  });
}

test("connect-protocol-version other than 1 → invalid_argument naming version 1 (unary and streaming)", async () => {
  for (const v of ["2", "0", "1.0"]) {
    const headers = { "content-type": "application/json", "connect-protocol-version": v };
    invalidArgument(await h1(getOrder, { method: "POST", headers, body: '{"id":"102"}' }), /connect-protocol-version.*speaks version 1/);
    invalidArgument(await h2(getOrder, headers, Buffer.from('{"id":"102"}')), /connect-protocol-version.*speaks version 1/);
  }
  // A streaming call reports it in its end-stream message.
  const env = Buffer.alloc(5);
  env.writeUInt32BE(2, 1);
  const res = await h2(
    "/order.v1.OrderService/SearchOrders",
    { "content-type": "application/connect+json", "connect-protocol-version": "2" },
    Buffer.concat([env, Buffer.from("{}")]),
  );
  assert.equal(res.status, 200);
  assert.match(res.body, /"code":"invalid_argument".*speaks version 1/);
  // Version 1 and no header both work.
  const ok1 = await h1(getOrder, { method: "POST", headers: { "content-type": "application/json", "connect-protocol-version": "1" }, body: '{"id":"102"}' });
  assert.equal(ok1.status, 200);
  const ok2 = await h1(getOrder, { method: "POST", headers: { "content-type": "application/json" }, body: '{"id":"102"}' });
  assert.equal(ok2.status, 200);
});
