// Request bodies are bounded on every protocol and path (issue 13 §1): a
// unary or server-streaming call followed by a flood of extra DATA, an
// oversized body and a gzip bomb never grow the server by more than 64 MiB
// over its idle RSS, end with a precise code, stop the client from sending
// (RST_STREAM / connection close), and other calls keep answering meanwhile.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import * as http from "node:http";
import * as http2 from "node:http2";
import { readFileSync } from "node:fs";
import * as zlib from "node:zlib";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { GetOrderRequestSchema, OrderService, SearchOrdersRequestSchema } from "@switchboard/gen/order/v1/order_pb.js";
import { grpcClient } from "@switchboard/test-harness/clients";
import { grpcFrame } from "@switchboard/test-harness/raw-http2";
import { startServerProcess, type ServerProcess } from "@switchboard/test-harness/server-process";

const MiB = 1024 * 1024;
const maxMessageBytes = 2 * MiB;
/** What each flood tries to send; a server that buffered it would grow far past the bound. */
const floodBytes = 256 * MiB;
const rssBound = 64 * MiB;

let server: ServerProcess;
let baseline = 0;
let bomb: Buffer; // ~1 MiB of gzip that inflates to 1 GiB

before(async () => {
  server = await startServerProcess({ args: ["--max-message-bytes", String(maxMessageBytes), "--no-request-log"] });
  bomb = await gzipBomb(1024);
  // Warm every path once so lazily loaded code counts in the baseline.
  const client = grpcClient(OrderService, server.url);
  for (let i = 0; i < 20; i++) await client.getOrder({ id: "102" });
  baseline = rss(server.pid);
});
after(() => server?.cleanup());

function rss(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(m![1]) * 1024;
}

/** gzip of `mib` MiB of zeros, made in a stream (never holding the inflated bytes). */
async function gzipBomb(mib: number): Promise<Buffer> {
  const z = zlib.createGzip({ level: 9 });
  const out: Buffer[] = [];
  z.on("data", (c: Buffer) => out.push(c));
  const block = Buffer.alloc(MiB);
  for (let i = 0; i < mib; i++) {
    if (!z.write(block)) await new Promise((r) => z.once("drain", r));
  }
  z.end();
  await new Promise((r) => z.once("end", r));
  return Buffer.concat(out);
}

interface Outcome {
  status: number;
  /** grpc-status (gRPC, gRPC-Web trailers) or the Connect error code. */
  code: string | undefined;
  message: string;
  /** Body bytes the client managed to write before the server stopped it. */
  sent: number;
  /** Highest server RSS over the idle baseline seen while the call ran. */
  growth: number;
}

/**
 * Sends `first`, then zeros up to `floodBytes` in total (respecting flow
 * control), while sampling the server's RSS and running a GetOrder next to it.
 */
async function attack(path: string, headers: http2.OutgoingHttpHeaders, first: Buffer, flood = true): Promise<Outcome> {
  const session = http2.connect(server.url);
  session.on("error", () => {});
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, rss(server.pid))), 20);
  try {
    const req = session.request({ ":method": "POST", ":path": path, te: "trailers", ...headers });
    req.on("error", () => {});
    let resHeaders: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    req.on("response", (h) => (resHeaders = h));
    req.on("trailers", (t) => (trailers = t));
    req.on("data", (c: Buffer) => chunks.push(c));
    const closed = new Promise<void>((r) => req.once("close", () => r()));
    let isClosed = false;
    void closed.then(() => (isClosed = true));
    let sent = 0;
    const write = async (b: Buffer) => {
      sent += b.length;
      if (!req.write(b)) await Promise.race([new Promise((r) => req.once("drain", r)), closed]);
    };
    await write(first);
    // Another call is answered while the flood runs.
    const probe = grpcClient(OrderService, server.url).getOrder({ id: "102" }, { timeoutMs: 20_000 });
    const filler = Buffer.alloc(64 * 1024);
    while (flood && sent < floodBytes && !isClosed && !req.destroyed) await write(filler);
    if (!isClosed && !req.destroyed) req.end();
    await Promise.race([
      closed,
      new Promise((_, reject) => setTimeout(() => reject(new Error("the call did not end within 30 s")), 30_000)),
    ]);
    assert.equal((await probe).order?.id, "102", "a concurrent GetOrder is answered during the attack");
    peak = Math.max(peak, rss(server.pid));
    const body = Buffer.concat(chunks);
    const status = Number(resHeaders[":status"]);
    const from = trailers["grpc-status"] !== undefined ? trailers : resHeaders;
    let code = from["grpc-status"] as string | undefined;
    let message = decodeURIComponent(String(from["grpc-message"] ?? ""));
    const ct = String(resHeaders["content-type"] ?? "");
    if (ct.startsWith("application/grpc-web")) {
      const t = grpcWebTrailers(body);
      code = t["grpc-status"];
      message = decodeURIComponent(t["grpc-message"] ?? "");
    } else if (ct === "application/json") {
      const err = JSON.parse(body.toString()) as { code: string; message: string };
      ({ code, message } = err);
    } else if (ct.startsWith("application/connect+")) {
      const end = connectEndStream(body);
      code = end.error?.code;
      message = end.error?.message ?? "";
    }
    return { status, code, message, sent, growth: peak - baseline };
  } finally {
    clearInterval(sampler);
    session.destroy();
  }
}

/** The trailer frame (flag 0x80) of a gRPC-Web body. */
function grpcWebTrailers(body: Buffer): Record<string, string> {
  for (let i = 0; i + 5 <= body.length; ) {
    const size = body.readUInt32BE(i + 1);
    if ((body[i]! & 0x80) === 0x80) {
      const out: Record<string, string> = {};
      for (const line of body.subarray(i + 5, i + 5 + size).toString().split("\r\n")) {
        const at = line.indexOf(":");
        if (at > 0) out[line.slice(0, at).trim().toLowerCase()] = line.slice(at + 1).trim();
      }
      return out;
    }
    i += 5 + size;
  }
  return {};
}

/** The end-stream message (flag 0x02) of a Connect streaming body. */
function connectEndStream(body: Buffer): { error?: { code: string; message: string } } {
  for (let i = 0; i + 5 <= body.length; ) {
    const size = body.readUInt32BE(i + 1);
    if ((body[i]! & 0x02) === 0x02) return JSON.parse(body.subarray(i + 5, i + 5 + size).toString()) as never;
    i += 5 + size;
  }
  return {};
}

const getOrder = () => Buffer.from(toBinary(GetOrderRequestSchema, create(GetOrderRequestSchema, { id: "102" })));
const search = () => Buffer.from(toBinary(SearchOrdersRequestSchema, create(SearchOrdersRequestSchema, { query: "" })));
function gzipFrame(payload: Buffer): Buffer {
  const prefix = Buffer.alloc(5);
  prefix[0] = 1;
  prefix.writeUInt32BE(payload.length, 1);
  return Buffer.concat([prefix, payload]);
}
const browser = { origin: "http://localhost:5173" }; // the fast path declines: connect-node serves it
const unimplemented = String(Code.Unimplemented);
const exhausted = String(Code.ResourceExhausted);

function bounded(o: Outcome, stopped = true): void {
  assert.ok(o.growth < rssBound, `server RSS grew ${(o.growth / MiB).toFixed(1)} MiB (bound 64 MiB)`);
  if (stopped) assert.ok(o.sent < floodBytes, `the client was stopped (sent ${(o.sent / MiB).toFixed(1)} MiB)`);
}

const floods: Array<{ name: string; path: string; headers: http2.OutgoingHttpHeaders; first: () => Buffer; code: string; message: RegExp }> = [
  {
    name: "gRPC fast path, unary + extra DATA",
    path: "/order.v1.OrderService/GetOrder",
    headers: { "content-type": "application/grpc" },
    first: () => grpcFrame(getOrder()),
    code: unimplemented,
    message: /extra input message for unary method/,
  },
  {
    name: "gRPC fast path, server streaming + extra DATA",
    path: "/order.v1.OrderService/SearchOrders",
    headers: { "content-type": "application/grpc" },
    first: () => grpcFrame(search()),
    code: unimplemented,
    message: /extra input message for server-streaming method/,
  },
  {
    name: "gRPC through connect-node, unary + extra DATA",
    path: "/order.v1.OrderService/GetOrder",
    headers: { "content-type": "application/grpc", ...browser },
    first: () => grpcFrame(getOrder()),
    code: unimplemented,
    message: /extra input message/,
  },
  {
    name: "gRPC-Web (connect-node), server streaming + extra DATA",
    path: "/order.v1.OrderService/SearchOrders",
    headers: { "content-type": "application/grpc-web+proto" },
    first: () => grpcFrame(search()),
    code: unimplemented,
    message: /extra input message/,
  },
  {
    name: "Connect streaming (connect-node), server streaming + extra DATA",
    path: "/order.v1.OrderService/SearchOrders",
    headers: { "content-type": "application/connect+proto" },
    first: () => grpcFrame(search()),
    code: "unimplemented",
    message: /extra input message/,
  },
  {
    name: "Connect unary fast path, an endless body",
    path: "/order.v1.OrderService/GetOrder",
    headers: { "content-type": "application/proto" },
    first: () => getOrder(),
    code: "resource_exhausted",
    message: /larger than configured readMaxBytes/,
  },
  {
    name: "Connect unary through connect-node, an endless body",
    path: "/order.v1.OrderService/GetOrder",
    headers: { "content-type": "application/proto", ...browser },
    first: () => getOrder(),
    code: "resource_exhausted",
    message: /larger than configured readMaxBytes/,
  },
];

for (const c of floods) {
  test(`${c.name} → ${c.code}, bounded memory, client stopped`, async () => {
    const o = await attack(c.path, c.headers, c.first());
    assert.equal(o.code, c.code, `code (message: ${o.message})`);
    assert.match(o.message, c.message);
    bounded(o);
  });
}

const bombs: Array<{ name: string; path: string; headers: http2.OutgoingHttpHeaders; body: () => Buffer; code: string }> = [
  {
    name: "gRPC fast path unary",
    path: "/order.v1.OrderService/GetOrder",
    headers: { "content-type": "application/grpc", "grpc-encoding": "gzip" },
    body: () => gzipFrame(bomb),
    code: exhausted,
  },
  {
    name: "gRPC fast path client streaming (request stream)",
    path: "/order.v1.OrderService/UpdateOrders",
    headers: { "content-type": "application/grpc", "grpc-encoding": "gzip" },
    body: () => gzipFrame(bomb),
    code: exhausted,
  },
  {
    name: "gRPC through connect-node unary",
    path: "/order.v1.OrderService/GetOrder",
    headers: { "content-type": "application/grpc", "grpc-encoding": "gzip", ...browser },
    body: () => gzipFrame(bomb),
    code: exhausted,
  },
  {
    name: "gRPC-Web (connect-node) server streaming",
    path: "/order.v1.OrderService/SearchOrders",
    headers: { "content-type": "application/grpc-web+proto", "grpc-encoding": "gzip" },
    body: () => gzipFrame(bomb),
    code: exhausted,
  },
  {
    name: "Connect streaming (connect-node)",
    path: "/order.v1.OrderService/SearchOrders",
    headers: { "content-type": "application/connect+proto", "connect-content-encoding": "gzip" },
    body: () => gzipFrame(bomb),
    code: "resource_exhausted",
  },
  {
    name: "Connect unary fast path",
    path: "/order.v1.OrderService/GetOrder",
    headers: { "content-type": "application/proto", "content-encoding": "gzip" },
    body: () => bomb,
    code: "resource_exhausted",
  },
  {
    name: "Connect unary through connect-node",
    path: "/order.v1.OrderService/GetOrder",
    headers: { "content-type": "application/proto", "content-encoding": "gzip", ...browser },
    body: () => bomb,
    code: "resource_exhausted",
  },
];

for (const c of bombs) {
  test(`gzip bomb (1 MiB → 1 GiB), ${c.name} → ${c.code} while inflating, bounded memory`, async () => {
    const o = await attack(c.path, c.headers, c.body(), false);
    assert.equal(o.code, c.code, `code (message: ${o.message})`);
    bounded(o, false);
  });
}

test("HTTP/1.1 Connect unary with an endless body → 429 resource_exhausted and the connection closes", async () => {
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, rss(server.pid))), 20);
  try {
    const { status, body, sent } = await new Promise<{ status: number; body: string; sent: number }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no answer within 30 s")), 30_000);
      const req = http.request(`${server.url}/order.v1.OrderService/GetOrder`, {
        method: "POST",
        headers: { "content-type": "application/proto", "transfer-encoding": "chunked" },
      });
      let sent = 0;
      let answered = false;
      req.on("response", (res) => {
        answered = true;
        let text = "";
        res.on("data", (c) => (text += String(c)));
        res.on("end", () => {
          clearTimeout(timer);
          resolve({ status: res.statusCode!, body: text, sent });
        });
      });
      req.on("error", () => {}); // the server closes the connection under our writes
      const filler = Buffer.alloc(64 * 1024);
      const pump = () => {
        while (!answered && sent < floodBytes && !req.destroyed) {
          sent += filler.length;
          if (!req.write(filler)) return void req.once("drain", pump);
        }
      };
      pump();
    });
    assert.equal(status, 429);
    assert.equal((JSON.parse(body) as { code: string }).code, "resource_exhausted");
    assert.ok(sent < floodBytes, `the client was stopped (sent ${(sent / MiB).toFixed(1)} MiB)`);
    assert.ok(peak - baseline < rssBound, `server RSS grew ${((peak - baseline) / MiB).toFixed(1)} MiB`);
  } finally {
    clearInterval(sampler);
  }
});
