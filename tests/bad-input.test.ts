// Bad input gets a precise code and never hurts the server: after each case
// the server still answers health SERVING and GetOrder.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { Health, HealthCheckResponse_ServingStatus as Status } from "@switchboard/gen/grpc/health/v1/health_pb.js";
import { GetOrderRequestSchema, OrderService } from "@switchboard/gen/order/v1/order_pb.js";
import { grpcClient } from "@switchboard/test-harness/clients";
import { grpcFrame, rawHttp2 } from "@switchboard/test-harness/raw-http2";
import { startServerProcess, type ServerProcess } from "@switchboard/test-harness/server-process";

const maxMessageBytes = 2048;
let server: ServerProcess;
before(async () => {
  server = await startServerProcess({ args: ["--max-message-bytes", String(maxMessageBytes)] });
});
after(() => server?.cleanup());

const getOrder102 = () => grpcFrame(toBinary(GetOrderRequestSchema, create(GetOrderRequestSchema, { id: "102" })));
const getOrderPath = "/order.v1.OrderService/GetOrder";

/** The server is still fine: health SERVING and a real call works. */
async function stillHealthy(): Promise<void> {
  const health = grpcClient(Health, server.url);
  assert.equal((await health.check({ service: "" })).status, Status.SERVING);
  const { order } = await grpcClient(OrderService, server.url).getOrder({ id: "102" });
  assert.equal(order?.id, "102");
}

// Raw gRPC over h2c: bytes no well-behaved client sends.
const grpcCases: Array<{ name: string; path?: string; body: Buffer; headers?: Record<string, string>; code: Code; message: RegExp }> = [
  {
    name: "malformed protobuf bytes → INTERNAL (gRPC's code for an unparsable message, as in grpc-go)",
    body: grpcFrame(Buffer.from([0xff, 0xff, 0xff, 0x0f, 0x01])),
    code: Code.Internal,
    message: /parse binary/,
  },
  {
    name: "truncated frame: the prefix promises 100 bytes, END_STREAM after 5 → INVALID_ARGUMENT",
    body: grpcFrame(Buffer.from([0x0a, 0x03, 0x31, 0x30, 0x32]), 100),
    code: Code.InvalidArgument,
    message: /incomplete envelope/,
  },
  {
    // connect-es counts a prefix shorter than 5 bytes as no message at all
    // (the gRPC spec's cardinality violation, UNIMPLEMENTED).
    name: "a 3-byte partial prefix → UNIMPLEMENTED (no complete message)",
    body: Buffer.from([0, 0, 0]),
    code: Code.Unimplemented,
    message: /missing input message/,
  },
  {
    name: "no request message at all for a unary method → UNIMPLEMENTED",
    body: Buffer.alloc(0),
    code: Code.Unimplemented,
    message: /missing input message/,
  },
  {
    name: "compressed flag without grpc-encoding → INTERNAL",
    body: Buffer.concat([Buffer.from([1, 0, 0, 0, 2]), Buffer.from([0x0a, 0x00])]),
    code: Code.Internal,
    message: /compressed/,
  },
  {
    name: `oversize message (> --max-message-bytes ${maxMessageBytes}) → RESOURCE_EXHAUSTED`,
    body: grpcFrame(Buffer.alloc(maxMessageBytes + 1, 0x20)),
    code: Code.ResourceExhausted,
    message: /larger than configured readMaxBytes 2048/,
  },
  {
    name: "unknown method → UNIMPLEMENTED",
    path: "/order.v1.OrderService/NoSuchMethod",
    body: getOrder102(),
    code: Code.Unimplemented,
    message: /order\.v1\.OrderService\/NoSuchMethod/,
  },
  {
    name: "unknown service → UNIMPLEMENTED",
    path: "/no.such.v1.Service/Method",
    body: getOrder102(),
    code: Code.Unimplemented,
    message: /no\.such\.v1\.Service/,
  },
];

for (const c of grpcCases) {
  test(`gRPC: ${c.name}`, async () => {
    const res = await rawHttp2(server.url, c.path ?? getOrderPath, c.body, c.headers);
    assert.equal(res.headers[":status"], 200);
    assert.equal(res.grpcStatus, c.code, `grpc-status ${res.grpcStatus} ${res.grpcMessage}`);
    assert.match(res.grpcMessage ?? "", c.message);
    await stillHealthy();
  });
}

test("gRPC: a well-formed raw request works (the raw client itself is sound)", async () => {
  const res = await rawHttp2(server.url, getOrderPath, getOrder102());
  assert.equal(res.grpcStatus, 0);
  assert.ok(res.body.length > 5);
});

test("wrong content-type → HTTP 415, for gRPC and Connect", async () => {
  for (const contentType of ["text/plain", "application/grpc+bogus"]) {
    const res = await rawHttp2(server.url, getOrderPath, getOrder102(), { "content-type": contentType });
    assert.equal(res.headers[":status"], 415, contentType);
  }
  const res = await fetch(`${server.url}${getOrderPath}`, { method: "POST", headers: { "content-type": "text/xml" }, body: "<id>102</id>" });
  assert.equal(res.status, 415);
  await stillHealthy();
});

test("Connect: malformed JSON → invalid_argument; unknown procedure → 404 unimplemented", async () => {
  const bad = await fetch(`${server.url}${getOrderPath}`, { method: "POST", headers: { "content-type": "application/json" }, body: "{nope" });
  assert.equal(bad.status, 400);
  assert.equal(((await bad.json()) as { code: string }).code, "invalid_argument");
  const unknown = await fetch(`${server.url}/no.such.v1.Service/Method`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
  assert.equal(unknown.status, 404);
  assert.equal(((await unknown.json()) as { code: string }).code, "unimplemented");
  await stillHealthy();
});

test("clients see the same codes: oversize and unknown method through connect-node", async () => {
  for (const transport of [createGrpcTransport({ baseUrl: server.url }), createConnectTransport({ baseUrl: server.url, httpVersion: "1.1" })]) {
    const orders = createClient(OrderService, transport);
    const err = await orders
      .addOrder({ order: { id: "big", items: ["x".repeat(maxMessageBytes)], destination: "d" } })
      .then(() => assert.fail("expected RESOURCE_EXHAUSTED"), (e: unknown) => ConnectError.from(e));
    assert.equal(err.code, Code.ResourceExhausted);
  }
  await stillHealthy();
});

test("an HTTP/1.1 request that is not HTTP → 400, server unharmed", async () => {
  const net = await import("node:net");
  const reply = await new Promise<string>((resolve, reject) => {
    const socket = net.connect(server.port, "127.0.0.1", () => socket.write("HELLO\r\n\r\n"));
    let data = "";
    socket.on("data", (d) => (data += String(d)));
    socket.on("close", () => resolve(data));
    socket.on("error", reject);
  });
  assert.match(reply, /^HTTP\/1\.1 400/);
  await stillHealthy();
});
