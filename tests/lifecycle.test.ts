// Durability across restarts and graceful shutdown on SIGTERM.
import { test } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import * as http2 from "node:http2";
import { tmpdir } from "node:os";
import path from "node:path";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { GetOrderRequestSchema, OrderService, type ProcessOrdersRequest } from "@switchboard/gen/order/v1/order_pb.js";
import {
  ServerReflection,
  ServerReflectionRequestSchema,
  type ServerReflectionRequest,
} from "@switchboard/gen/grpc/reflection/v1/reflection_pb.js";
import { pushable } from "@switchboard/test-harness/pushable";
import { grpcFrame } from "@switchboard/test-harness/raw-http2";
import { startServerProcess } from "@switchboard/test-harness/server-process";

test("a restart keeps added and updated orders (same --data-dir) and does not seed twice", async (t) => {
  const dataDir = mkdtempSync(path.join(tmpdir(), "switchboard-restart-"));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const first = await startServerProcess({ dataDir });
  t.after(() => first.cleanup());
  let client = createClient(OrderService, createGrpcTransport({ baseUrl: first.url }));
  await client.addOrder({ order: { id: "keep-1", items: ["Lamp"], destination: "Rome", priceCents: 2500n } });
  await client.updateOrders(
    (async function* () {
      yield { order: { id: "102", items: ["Google Pixel 9"], destination: "Mountain View, CA", priceCents: 99900n } };
    })(),
  );
  assert.deepEqual(await first.stop("SIGTERM"), { code: 0, signal: null });

  const second = await startServerProcess({ dataDir });
  t.after(() => second.cleanup());
  client = createClient(OrderService, createGrpcTransport({ baseUrl: second.url }));
  assert.deepEqual((await client.getOrder({ id: "keep-1" })).order?.items, ["Lamp"]);
  assert.equal((await client.getOrder({ id: "102" })).order?.priceCents, 99900n);
  const all: string[] = [];
  for await (const r of client.searchOrders({ query: "" })) all.push(r.order!.id);
  assert.deepEqual(all, ["102", "103", "104", "105", "106", "keep-1"]);
});

test("SIGTERM: open streams end with UNAVAILABLE, an in-flight unary call completes, the process exits 0", async (t) => {
  const server = await startServerProcess({ args: ["--shutdown-timeout", "8000"] });
  t.after(() => server.cleanup());

  // 1. An open bidi stream and an open client stream (Connect over h2c).
  const grpc = createClient(OrderService, createGrpcTransport({ baseUrl: server.url }));
  const connectH2 = createClient(OrderService, createConnectTransport({ baseUrl: server.url, httpVersion: "2" }));
  const reqs = pushable<ProcessOrdersRequest>();
  reqs.push({ $typeName: "order.v1.ProcessOrdersRequest", orderId: "102" });
  const bidiEnded = (async () => {
    try {
      for await (const _ of connectH2.processOrders(reqs)) {
        // fewer than 3 ids: nothing is sent before the end
      }
      return undefined;
    } catch (err) {
      return ConnectError.from(err);
    }
  })();
  const clientStream = pushable<{ order: { id: string; items: string[]; destination: string } }>();
  clientStream.push({ order: { id: "103", items: ["Changed at shutdown"], destination: "X" } });
  const updateEnded = connectH2
    .updateOrders(clientStream)
    .then(() => undefined, (err: unknown) => ConnectError.from(err));

  // 2. A unary call whose request is half sent when the signal arrives.
  const session = http2.connect(server.url);
  session.on("error", () => {});
  const unary = session.request({
    ":method": "POST", ":path": "/order.v1.OrderService/GetOrder", "content-type": "application/grpc", te: "trailers",
  });
  unary.on("error", () => {});
  const frame = grpcFrame(toBinary(GetOrderRequestSchema, create(GetOrderRequestSchema, { id: "104" })));
  unary.write(frame.subarray(0, 4));
  const unaryStatus = new Promise<string | undefined>((resolve) => {
    let status: string | undefined;
    unary.on("response", (h) => (status ??= h["grpc-status"] as string | undefined));
    unary.on("trailers", (h) => (status = h["grpc-status"] as string | undefined));
    unary.on("close", () => resolve(status));
  });
  let unaryBody = Buffer.alloc(0);
  unary.on("data", (c: Buffer) => (unaryBody = Buffer.concat([unaryBody, c])));
  // Make sure the server has the streams before the signal (its health check answers after them).
  await grpc.getOrder({ id: "105" });

  const exited = server.stop("SIGTERM");
  // Wait for the server to begin shutting down, then finish the unary request.
  while (!server.logs.some((l) => l.msg === "shutting down")) await once(server.child.stdout!, "data");
  unary.end(frame.subarray(4));

  const bidiErr = await bidiEnded;
  assert.equal(bidiErr?.code, Code.Unavailable, bidiErr?.message);
  assert.match(bidiErr!.rawMessage, /shutting down/);
  const updateErr = await updateEnded;
  assert.equal(updateErr?.code, Code.Unavailable, updateErr?.message);
  assert.equal(await unaryStatus, "0", "the in-flight unary call completed");
  assert.ok(unaryBody.length > 5, "with its response message");
  session.close();

  assert.deepEqual(await exited, { code: 0, signal: null });
  assert.ok(
    !server.logs.some((l) => String(l.msg).includes("shutdown timeout")),
    `drained without cutting connections: ${JSON.stringify(server.logs.slice(-6))}`,
  );

  // The update that was open at shutdown was not applied.
  const again = await startServerProcess({ dataDir: server.dataDir });
  t.after(() => again.cleanup());
  const after = createClient(OrderService, createGrpcTransport({ baseUrl: again.url }));
  assert.deepEqual((await after.getOrder({ id: "103" })).order?.items, ["Apple Watch S4"]);
});

test(
  "SIGTERM with open gRPC bidi streams (ProcessOrders, reflection) drains without hitting --shutdown-timeout",
  // The server resets the answered stream the client still holds open
  // (server/src/http/close-answered.ts); without that its session never closes.
  async (t) => {
    const server = await startServerProcess({ args: ["--shutdown-timeout", "3000"] });
    t.after(() => server.cleanup());
    const grpc = createClient(OrderService, createGrpcTransport({ baseUrl: server.url }));
    const reqs = pushable<ProcessOrdersRequest>();
    reqs.push({ $typeName: "order.v1.ProcessOrdersRequest", orderId: "102" });
    const ended = (async () => {
      for await (const _ of grpc.processOrders(reqs)) {
        // nothing before the end
      }
    })().then(() => undefined, (err: unknown) => ConnectError.from(err));
    // A reflection stream held open as well (grpcurl-like clients keep it open).
    const reflection = createClient(ServerReflection, createGrpcTransport({ baseUrl: server.url }));
    const reflReqs = pushable<ServerReflectionRequest>();
    reflReqs.push(create(ServerReflectionRequestSchema, { messageRequest: { case: "listServices", value: "" } }));
    const reflIt = reflection.serverReflectionInfo(reflReqs)[Symbol.asyncIterator]();
    assert.equal((await reflIt.next()).value?.messageResponse.case, "listServicesResponse");
    const reflEnded = reflIt.next().then(() => undefined, (err: unknown) => ConnectError.from(err));
    await grpc.getOrder({ id: "105" });
    const exited = server.stop("SIGTERM");
    assert.equal((await ended)?.code, Code.Unavailable);
    assert.equal((await reflEnded)?.code, Code.Unavailable);
    assert.deepEqual(await exited, { code: 0, signal: null });
    assert.ok(!server.logs.some((l) => String(l.msg).includes("shutdown timeout")), "drained without cutting connections");
  },
);
