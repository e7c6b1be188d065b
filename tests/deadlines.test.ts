// Deadlines and cancellation: the client gets DEADLINE_EXCEEDED / CANCELED,
// and the server's handler really ends (its request-log line shows the code).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import * as http2 from "node:http2";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import {
  OrderService,
  UpdateOrdersRequestSchema,
  type ProcessOrdersRequest,
} from "@switchboard/gen/order/v1/order_pb.js";
import { grpcFrame } from "@switchboard/test-harness/raw-http2";
import { pushable } from "@switchboard/test-harness/pushable";
import { startServerProcess, type ServerProcess } from "@switchboard/test-harness/server-process";

let server: ServerProcess;
let grpc: Client<typeof OrderService>;
// Enough big orders (≈ 100 KB each, ≈ 4 MB in all) that a search cannot
// finish while its consumer does not read: HTTP/2 flow control stops the server.
const bigOrders = 40;
const bigItem = (i: number) => `Bulky ${i} `.padEnd(1000, "x");

before(async () => {
  server = await startServerProcess();
  grpc = createClient(OrderService, createGrpcTransport({ baseUrl: server.url }));
  for (let n = 0; n < bigOrders; n += 20) {
    await Promise.all(
      Array.from({ length: 20 }, (_, k) =>
        grpc.addOrder({
          order: { id: `bulk-${String(n + k).padStart(4, "0")}`, items: Array.from({ length: 100 }, (_, i) => bigItem(i)), destination: "Depot" },
        }),
      ),
    );
  }
});
after(() => server?.cleanup());

/** Waits (event-driven, on the log stream) for the server's rpc line of `method` after `from`. */
async function rpcLog(method: string, from: number, timeoutMs = 15_000): Promise<Record<string, unknown>> {
  const find = () => server.logs.slice(from).find((l) => l.msg === "rpc" && l.method === `order.v1.OrderService/${method}`);
  const timeout = AbortSignal.timeout(timeoutMs);
  for (let entry = find(); ; entry = find()) {
    if (entry) return entry;
    try {
      await once(server.child.stdout!, "data", { signal: timeout });
    } catch {
      assert.fail(`no rpc log line for ${method} within ${timeoutMs} ms: the server's handler did not end`);
    }
  }
}

async function failure(fn: () => Promise<unknown>): Promise<ConnectError> {
  try {
    await fn();
  } catch (err) {
    return ConnectError.from(err);
  }
  assert.fail("expected the call to fail");
}

test("bidi ProcessOrders left open: the client's timeout → DEADLINE_EXCEEDED, and the server's handler ends", async () => {
  for (const transport of [createGrpcTransport({ baseUrl: server.url }), createConnectTransport({ baseUrl: server.url, httpVersion: "2" })]) {
    const client = createClient(OrderService, transport);
    const from = server.logs.length;
    const reqs = pushable<ProcessOrdersRequest>();
    const err = await failure(async () => {
      // Never half-closed: only the deadline can end this call.
      for await (const _ of client.processOrders(reqs, { timeoutMs: 300 })) {
        // no shipments: fewer than 3 ids were sent
      }
    });
    assert.equal(err.code, Code.DeadlineExceeded, err.message);
    // The handler ends too. (Its code may be OK: Node's http2 client sends
    // END_STREAM before RST_STREAM when it gives up, which the server sees as
    // a half-close; the raw-client tests below pin the server's own deadline.)
    await rpcLog("ProcessOrders", from);
  }
});

/** Opens a raw gRPC stream (h2c) with the given deadline; the test drives it. */
function rawCall(path: string, timeout?: string) {
  const session = http2.connect(server.url);
  session.on("error", () => {});
  const req = session.request({
    ":method": "POST", ":path": `/order.v1.OrderService/${path}`, "content-type": "application/grpc", te: "trailers",
    ...(timeout ? { "grpc-timeout": timeout } : {}),
  });
  req.on("error", () => {});
  // Resolves with grpc-status when the server ends its side (trailers, or
  // trailers-only headers), even while the test's side is still open.
  const status = new Promise<string | undefined>((resolve) => {
    req.on("response", (h) => {
      if (h["grpc-status"] !== undefined) resolve(h["grpc-status"] as string);
    });
    req.on("trailers", (t) => resolve(t["grpc-status"] as string | undefined));
    req.on("close", () => resolve(undefined));
  });
  return { session, req, status };
}

const updateFrame = (id: string, item: string) =>
  grpcFrame(toBinary(UpdateOrdersRequestSchema, create(UpdateOrdersRequestSchema, { order: { id, items: [item], destination: "Nowhere" } })));

test("server-side deadline: UpdateOrders never half-closed ends with DEADLINE_EXCEEDED and commits nothing", async () => {
  const from = server.logs.length;
  const call = rawCall("UpdateOrders", "300m");
  call.req.write(updateFrame("103", "Changed"));
  // The client neither half-closes nor cancels: only the server's deadline ends it.
  assert.equal(await call.status, String(Code.DeadlineExceeded));
  call.session.close();
  assert.equal((await rpcLog("UpdateOrders", from)).code, "DeadlineExceeded");
  assert.deepEqual((await grpc.getOrder({ id: "103" })).order?.items, ["Apple Watch S4"]);
});

/** Opens a raw server-streaming SearchOrders that never reads its response. */
function stalledSearch(protocol: "grpc" | "connect") {
  const session = http2.connect(server.url);
  session.on("error", () => {});
  const req = session.request({
    ":method": "POST", ":path": "/order.v1.OrderService/SearchOrders",
    ...(protocol === "grpc"
      ? { "content-type": "application/grpc", te: "trailers", "grpc-timeout": "500m" }
      : { "content-type": "application/connect+proto", "connect-protocol-version": "1", "connect-timeout-ms": "500" }),
  });
  req.on("error", () => {});
  req.pause(); // never read: no WINDOW_UPDATE, so the server blocks after ~64 KiB
  req.end(grpcFrame(Buffer.from([0x0a, 0x05, ...Buffer.from("bulky")]))); // {query: "bulky"}, same envelope in both
  return session;
}

test("server-side deadline: a Connect-streaming SearchOrders the client stops reading is ended by the server", async () => {
  const from = server.logs.length;
  const session = stalledSearch("connect");
  const line = await rpcLog("SearchOrders", from);
  assert.notEqual(line.code, "OK", "the handler was cut, not completed");
  session.destroy();
});

test("server-side deadline: a gRPC SearchOrders the client stops reading is ended by the server", async () => {
  const from = server.logs.length;
  const session = stalledSearch("grpc");
  try {
    const line = await rpcLog("SearchOrders", from);
    assert.notEqual(line.code, "OK");
  } finally {
    session.destroy();
  }
});

test("connection lost mid-UpdateOrders: nothing is committed, the handler ends", async () => {
  const from = server.logs.length;
  const call = rawCall("UpdateOrders");
  call.req.write(updateFrame("105", "Lost"));
  await new Promise((r) => setTimeout(r, 100));
  call.session.socket.destroy();
  const line = await rpcLog("UpdateOrders", from);
  assert.notEqual(line.code, "OK");
  assert.deepEqual((await grpc.getOrder({ id: "105" })).order?.items, ["Amazon Echo"]);
});

test("cancelling SearchOrders stops the stream, on the server as well", async () => {
  for (const transport of [createGrpcTransport({ baseUrl: server.url }), createConnectTransport({ baseUrl: server.url, httpVersion: "1.1" })]) {
    const client = createClient(OrderService, transport);
    const from = server.logs.length;
    const abort = new AbortController();
    let received = 0;
    const err = await failure(async () => {
      for await (const _ of client.searchOrders({ query: "bulky" }, { signal: abort.signal })) {
        if (++received === 2) abort.abort();
      }
    });
    assert.equal(err.code, Code.Canceled);
    // Messages already buffered may still be delivered, but the stream stops.
    assert.ok(received >= 2 && received < bigOrders, `received ${received}`);
    // The server's handler ends (it may have sent everything before the cancel arrived).
    await rpcLog("SearchOrders", from);
  }
  // And the server still serves searches to completion.
  let all = 0;
  for await (const _ of grpc.searchOrders({ query: "bulky" })) all++;
  assert.equal(all, bigOrders);
});
