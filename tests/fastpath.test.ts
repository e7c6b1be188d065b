// The fast path (server/src/fastpath) against the stock connect-node path:
// every request below goes, byte for byte, to a server with the fast path and
// to one started with --no-fast-path, and both answers must agree (and be what
// the protocol says). Raw node:http2 / node:http clients send exactly the
// edge cases (trailers-only errors, error details, gzip both ways, grpc-timeout,
// oversized messages, malformed envelopes); an independent @grpc/grpc-js
// client checks deadlines and cancellation of a long-lived stream.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import * as http from "node:http";
import path from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import {
  ProduceStreamRequestSchema,
  ProduceStreamResponseSchema,
} from "@switchboard/gen/log/v1/log_pb.js";
import {
  AddOrderRequestSchema,
  GetOrderRequestSchema,
  GetOrderResponseSchema,
  ProcessOrdersRequestSchema,
  ProcessOrdersResponseSchema,
  UpdateOrdersRequestSchema,
  UpdateOrdersResponseSchema,
  SearchOrdersRequestSchema,
  SearchOrdersResponseSchema,
} from "@switchboard/gen/order/v1/order_pb.js";
import { HealthCheckRequestSchema, HealthCheckResponseSchema } from "@switchboard/gen/grpc/health/v1/health_pb.js";
import { grpcFrame, rawHttp2, type RawResponse } from "@switchboard/test-harness/raw-http2";
import { repoRoot, startServerProcess, type ServerProcess } from "@switchboard/test-harness/server-process";

const maxBytes = 2048;
const getOrder = "/order.v1.OrderService/GetOrder";
const addOrder = "/order.v1.OrderService/AddOrder";
const searchOrders = "/order.v1.OrderService/SearchOrders";
const watch = "/grpc.health.v1.Health/Watch";
const updateOrders = "/order.v1.OrderService/UpdateOrders";
const processOrders = "/order.v1.OrderService/ProcessOrders";
const produceStream = "/log.v1.LogService/ProduceStream";

let fast: ServerProcess;
let stock: ServerProcess;

before(async () => {
  const args = ["--services", "order,log", "--max-message-bytes", String(maxBytes)];
  [fast, stock] = await Promise.all([
    startServerProcess({ args }),
    startServerProcess({ args: [...args, "--no-fast-path"] }),
  ]);
  // An order whose response is above connect's 1 KiB compression threshold.
  const big = create(AddOrderRequestSchema, {
    order: { id: "big", items: ["x"], description: "d".repeat(900), priceCents: 1n, destination: "h".repeat(600) },
  });
  for (const s of [fast, stock]) {
    const r = await rawHttp2(s.url, addOrder, grpcFrame(toBinary(AddOrderRequestSchema, big)));
    assert.equal(r.grpcStatus, 0, r.grpcMessage);
  }
});
after(async () => {
  await Promise.all([fast?.cleanup(), stock?.cleanup()]);
});

const getReq = (id: string) => toBinary(GetOrderRequestSchema, create(GetOrderRequestSchema, { id }));

/** The envelopes of a gRPC response body, decompressed when flagged. */
function envelopes(body: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < body.length; ) {
    const len = body.readUInt32BE(i + 1);
    const data = body.subarray(i + 5, i + 5 + len);
    out.push(body[i] === 1 ? gunzipSync(data) : data);
    i += 5 + len;
  }
  return out;
}

/** The same request to both servers. */
async function both(p: string, body: Uint8Array, headers: Record<string, string> = {}) {
  const [a, b] = await Promise.all([rawHttp2(fast.url, p, body, headers), rawHttp2(stock.url, p, body, headers)]);
  // Which path answered: connect-node's responses pass the CORS middleware
  // (Vary: Origin); the fast path's do not. Proves the fast path was taken.
  return { a, b };
}

/**
 * The response headers or trailers both paths must agree on: all but those
 * that legitimately differ per server or per path (date; Vary, which the
 * stock path's CORS middleware adds, with Access-Control-*) and grpc-message, which callers compare
 * (or not) separately.
 */
function comparable(h: Record<string, unknown>, compareMessage: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(h)) {
    if (k === "date" || k === "vary" || k.startsWith("access-control-")) continue;
    if (!compareMessage && k === "grpc-message") continue;
    out[k] = v;
  }
  return out;
}

/**
 * Same status, headers, trailers and messages. An upgrade of @connectrpc/*
 * that changes what the stock path sends makes this fail, so the fast path
 * (which reuses connect's protocol helpers) is checked against it.
 */
function sameGrpcOutcome(a: RawResponse, b: RawResponse, compareMessage = true): void {
  assert.equal(a.headers[":status"], b.headers[":status"]);
  assert.equal(a.grpcStatus, b.grpcStatus, `fast: ${a.grpcMessage} / stock: ${b.grpcMessage}`);
  if (compareMessage) assert.equal(a.grpcMessage, b.grpcMessage);
  // The fast path answers an error before any message trailers-only (status
  // in the one HEADERS frame, as gRPC servers do); connect-node sends empty
  // headers, then trailers. Then the fields are compared together, but for
  // grpc-encoding, which a trailers-only answer has no message to announce for.
  const trailersOnly = (r: RawResponse) => r.headers["grpc-status"] !== undefined;
  if (trailersOnly(a) || trailersOnly(b)) {
    const all = (r: RawResponse) => {
      const f = comparable({ ...r.headers, ...r.trailers }, compareMessage);
      delete f["grpc-encoding"];
      return f;
    };
    assert.deepEqual(all(a), all(b), "headers and trailers");
  } else {
    assert.deepEqual(comparable(a.headers, compareMessage), comparable(b.headers, compareMessage), "headers");
    assert.deepEqual(comparable(a.trailers, compareMessage), comparable(b.trailers, compareMessage), "trailers");
  }
  assert.deepEqual(envelopes(a.body), envelopes(b.body));
}

describe("gRPC over h2c: fast path = connect-node", () => {
  test("GetOrder: OK with the order; served by the fast path", async () => {
    const { a, b } = await both(getOrder, grpcFrame(getReq("102")));
    sameGrpcOutcome(a, b);
    assert.equal(a.grpcStatus, 0);
    assert.equal(a.headers.vary, undefined, "fast path answered");
    assert.match(String(b.headers.vary), /Origin/);
    assert.equal(a.headers["content-type"], "application/grpc+proto");
    const res = fromBinary(GetOrderResponseSchema, envelopes(a.body)[0]!);
    assert.equal(res.order?.id, "102");
    assert.equal(res.order?.priceCents, 180000n);
  });

  test("NOT_FOUND is a trailers-only response", async () => {
    const { a, b } = await both(getOrder, grpcFrame(getReq("nope")));
    sameGrpcOutcome(a, b);
    assert.equal(a.grpcStatus, 5);
    assert.equal(a.headers["grpc-status"], "5", "status in the headers (trailers-only)");
    assert.equal(a.body.length, 0);
  });

  test("INVALID_ARGUMENT carries the same google.rpc.BadRequest details", async () => {
    const { a, b } = await both(getOrder, grpcFrame(getReq("")));
    sameGrpcOutcome(a, b);
    assert.equal(a.grpcStatus, 3);
    const details = (r: RawResponse) => (r.trailers["grpc-status-details-bin"] ?? r.headers["grpc-status-details-bin"]) as string;
    const bin = details(a);
    assert.ok(bin, "grpc-status-details-bin present");
    assert.equal(bin, details(b));
    // google.rpc.Status{code: 3 (field 1 varint), details: [Any{type_url: …BadRequest}]}
    const status = Buffer.from(bin, "base64");
    assert.deepEqual([...status.subarray(0, 2)], [0x08, 3]);
    assert.ok(status.includes("type.googleapis.com/google.rpc.BadRequest"));
  });

  test("a request message over --max-message-bytes is RESOURCE_EXHAUSTED", async () => {
    const { a, b } = await both(getOrder, grpcFrame(getReq("x".repeat(maxBytes + 10))));
    sameGrpcOutcome(a, b);
    assert.equal(a.grpcStatus, 8);
  });

  test("a gzip-compressed request (grpc-encoding: gzip) is decompressed", async () => {
    const z = gzipSync(getReq("103"));
    const frame = grpcFrame(z);
    frame[0] = 1;
    const { a, b } = await both(getOrder, frame, { "grpc-encoding": "gzip" });
    sameGrpcOutcome(a, b);
    assert.equal(a.grpcStatus, 0);
    assert.equal(fromBinary(GetOrderResponseSchema, envelopes(a.body)[0]!).order?.id, "103");
  });

  test("a compressed message without grpc-encoding is an error", async () => {
    const frame = grpcFrame(gzipSync(getReq("103")));
    frame[0] = 1;
    const { a, b } = await both(getOrder, frame);
    sameGrpcOutcome(a, b);
    assert.equal(a.grpcStatus, 13);
  });

  test("a large response is gzip-compressed when the client accepts gzip", async () => {
    const { a, b } = await both(getOrder, grpcFrame(getReq("big")), { "grpc-accept-encoding": "gzip" });
    sameGrpcOutcome(a, b);
    assert.equal(a.headers["grpc-encoding"], "gzip");
    assert.equal(a.body[0], 1, "compressed flag set");
    assert.equal(fromBinary(GetOrderResponseSchema, envelopes(a.body)[0]!).order?.description.length, 900);
  });

  test("a client accepting gzip (as grpc-js does) gets the same headers for a small, uncompressed response", async () => {
    const { a, b } = await both(getOrder, grpcFrame(getReq("102")), { "grpc-accept-encoding": "identity,deflate,gzip" });
    sameGrpcOutcome(a, b);
    assert.equal(a.headers["grpc-encoding"], "gzip", "the negotiated encoding is announced");
    assert.equal(a.body[0], 0, "below 1 KiB: not compressed");
  });

  test("a gzip request without grpc-accept-encoding gets a gzip response (connect's negotiation)", async () => {
    const frame = grpcFrame(gzipSync(getReq("big")));
    frame[0] = 1;
    const { a, b } = await both(getOrder, frame, { "grpc-encoding": "gzip" });
    sameGrpcOutcome(a, b);
    assert.equal(a.headers["grpc-encoding"], "gzip");
    assert.equal(a.body[0], 1, "compressed flag set");
  });

  test("an error after a gzip request: same status fields", async () => {
    const frame = grpcFrame(gzipSync(getReq("nope")));
    frame[0] = 1;
    const { a, b } = await both(getOrder, frame, { "grpc-encoding": "gzip", "grpc-accept-encoding": "gzip" });
    sameGrpcOutcome(a, b);
    assert.equal(a.grpcStatus, 5);
  });

  test("missing, extra and truncated envelopes", async () => {
    for (const body of [
      Buffer.alloc(0),
      Buffer.concat([grpcFrame(getReq("102")), grpcFrame(getReq("103"))]),
      grpcFrame(getReq("102")).subarray(0, 7),
    ]) {
      const { a, b } = await both(getOrder, body);
      sameGrpcOutcome(a, b, false);
      assert.notEqual(a.grpcStatus, 0);
    }
  });

  test("an invalid grpc-timeout is declined by the fast path and rejected by connect", async () => {
    const { a, b } = await both(getOrder, grpcFrame(getReq("102")), { "grpc-timeout": "soon" });
    sameGrpcOutcome(a, b);
    assert.equal(a.grpcStatus, 3);
  });

  test("SearchOrders streams the same messages", async () => {
    const req = toBinary(SearchOrdersRequestSchema, create(SearchOrdersRequestSchema, { query: "" }));
    const { a, b } = await both(searchOrders, grpcFrame(req));
    sameGrpcOutcome(a, b);
    const ids = envelopes(a.body).map((m) => fromBinary(SearchOrdersResponseSchema, m).order?.id);
    assert.deepEqual(ids, ["102", "103", "104", "105", "106", "big"]);
    assert.equal(a.trailers["grpc-status"], "0");
  });

  test("grpc-timeout ends a long-lived stream with DEADLINE_EXCEEDED after what it sent", async () => {
    const req = toBinary(HealthCheckRequestSchema, create(HealthCheckRequestSchema, { service: "" }));
    const { a, b } = await both(watch, grpcFrame(req), { "grpc-timeout": "300m" });
    sameGrpcOutcome(a, b, false);
    assert.equal(a.grpcStatus, 4);
    assert.equal(fromBinary(HealthCheckResponseSchema, envelopes(a.body)[0]!).status, 1 /* SERVING */);
  });
});

const produceReq = (value: Buffer) =>
  grpcFrame(toBinary(ProduceStreamRequestSchema, create(ProduceStreamRequestSchema, { record: { value } })));
const processReq = (orderId: string) =>
  grpcFrame(toBinary(ProcessOrdersRequestSchema, create(ProcessOrdersRequestSchema, { orderId })));
const updateReq = (id: string, description: string) =>
  grpcFrame(
    toBinary(
      UpdateOrdersRequestSchema,
      create(UpdateOrdersRequestSchema, {
        order: { id, items: ["x"], description, priceCents: 100n, destination: "Berlin" },
      }),
    ),
  );
const gz = (frame: Buffer) => {
  const z = grpcFrame(gzipSync(frame.subarray(5)));
  z[0] = 1;
  return z;
};

describe("gRPC client and bidi streaming: fast path = connect-node", () => {
  // Each body is sent whole and half-closed; the servers stream their answers.
  test("ProcessOrders (bidi): the same shipments; served by the fast path", async () => {
    const body = Buffer.concat(["102", "103", "104", "105", "106"].map(processReq));
    const { a, b } = await both(processOrders, body);
    sameGrpcOutcome(a, b);
    assert.equal(a.grpcStatus, 0, a.grpcMessage);
    assert.equal(a.headers.vary, undefined, "fast path answered");
    assert.match(String(b.headers.vary), /Origin/);
    const msgs = envelopes(a.body).map((m) => fromBinary(ProcessOrdersResponseSchema, m));
    assert.ok(msgs.length >= 2, "a batch after 3 ids and the rest at the half-close");
  });

  test("ProcessOrders with an unknown id: the same error after the same messages", async () => {
    const body = Buffer.concat(["102", "103", "104", "nope"].map(processReq));
    const { a, b } = await both(processOrders, body);
    sameGrpcOutcome(a, b);
    assert.notEqual(a.grpcStatus, 0);
  });

  test("UpdateOrders (client streaming) with gzip-compressed messages", async () => {
    const body = Buffer.concat([gz(updateReq("104", "first")), updateReq("105", "second"), gz(updateReq("104", "third"))]);
    const { a, b } = await both(updateOrders, body, { "grpc-encoding": "gzip" });
    sameGrpcOutcome(a, b);
    assert.equal(a.grpcStatus, 0, a.grpcMessage);
    assert.equal(a.headers.vary, undefined, "fast path answered");
    assert.deepEqual(fromBinary(UpdateOrdersResponseSchema, envelopes(a.body)[0]!).ids, ["104", "105", "104"]);
    const got = await rawHttp2(fast.url, getOrder, grpcFrame(getReq("104")));
    assert.equal(fromBinary(GetOrderResponseSchema, envelopes(got.body)[0]!).order?.description, "third");
  });

  test("UpdateOrders: an empty stream, a compressed message without grpc-encoding, a truncated envelope", async () => {
    for (const body of [Buffer.alloc(0), gz(updateReq("105", "x")), updateReq("105", "y").subarray(0, 9)]) {
      const { a, b } = await both(updateOrders, body);
      sameGrpcOutcome(a, b, false);
    }
  });

  test("ProduceStream: acks in order; an oversized message is RESOURCE_EXHAUSTED after the acks before it", async () => {
    const ok = await both(produceStream, Buffer.concat([produceReq(Buffer.from("a")), produceReq(Buffer.from("b"))]));
    sameGrpcOutcome(ok.a, ok.b);
    assert.equal(ok.a.grpcStatus, 0, ok.a.grpcMessage);
    const offsets = envelopes(ok.a.body).map((m) => fromBinary(ProduceStreamResponseSchema, m).offset);
    assert.equal(offsets.length, 2);
    assert.equal(offsets[1], offsets[0]! + 1n);
    const body = Buffer.concat([produceReq(Buffer.from("c")), produceReq(Buffer.alloc(maxBytes + 10, 1))]);
    const { a, b } = await both(produceStream, body);
    assert.equal(a.grpcStatus, 8, a.grpcMessage);
    assert.equal(b.grpcStatus, 8, b.grpcMessage);
    // The one difference: the fast path hands the service the record before
    // the oversized message (the log acknowledges it, as it documents for a
    // bad record); stock connect-node fails the stream before the service
    // sees it when both arrive in one DATA chunk.
    const acked = envelopes(a.body).map((m) => fromBinary(ProduceStreamResponseSchema, m).offset);
    assert.deepEqual(acked, [offsets[1]! + 1n]);
    assert.equal(envelopes(b.body).length, 0);
  });

  test("back-pressure: a client that sends but never reads acks is stopped by flow control", async () => {
    // The server must not read (and buffer) an unbounded request stream while
    // its answers pile up unread. Offer 32 MiB of 100-byte records; the server
    // may take what its windows and bounded buffers allow (the acks that fit
    // the response window and the client's read buffer, ≈ 10k of 8 bytes;
    // 1024 in-flight appends; 32 KiB of request buffer; the request window:
    // ≈ 1–2 MiB), then the writes must stall.
    const http2 = await import("node:http2");
    const session = http2.connect(fast.url);
    t_after(() => session.destroy());
    session.on("error", () => {});
    const req = session.request({ ":method": "POST", ":path": produceStream, "content-type": "application/grpc", te: "trailers" });
    req.on("error", () => {});
    req.pause(); // never read the acks
    const frame = produceReq(Buffer.alloc(100, 7));
    const batch = Buffer.concat(Array.from({ length: 256 }, () => frame));
    let sent = 0;
    const offered = 32 * 1024 * 1024;
    while (sent < offered) {
      if (!req.write(batch)) {
        // Stalled: wait for room, or conclude flow control holds us.
        const drained = await new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => resolve(false), 1500);
          req.once("drain", () => {
            clearTimeout(timer);
            resolve(true);
          });
        });
        if (!drained) break;
      }
      sent += batch.length;
    }
    req.close();
    assert.ok(sent < 8 * 1024 * 1024, `server accepted ${sent} bytes without the acks being read`);
  });
});

/** A Connect unary call over HTTP/1.1. */
function http1(url: string, p: string, body: Buffer, headers: Record<string, string>) {
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
    const req = http.request(url + p, { method: "POST", headers: { ...headers, "content-length": body.length } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** The Connect unary response headers both paths must agree on (see `comparable`; connection management aside). */
function connectHeaders(h: Record<string, unknown>): Record<string, unknown> {
  const out = comparable(h, true);
  for (const k of ["connection", "keep-alive", "transfer-encoding"]) delete out[k];
  return out;
}

describe("Connect unary over HTTP/1.1 and h2c: fast path = connect-node", () => {
  const cases: Array<{ name: string; body: Buffer; headers: Record<string, string>; status: number; check?: (body: Buffer, h: Record<string, unknown>) => void }> = [
    {
      name: "JSON GetOrder",
      body: Buffer.from('{"id":"102"}'),
      headers: { "content-type": "application/json" },
      status: 200,
      check: (b) => assert.equal(JSON.parse(b.toString()).order.priceCents, "180000"),
    },
    {
      name: "proto GetOrder",
      body: Buffer.from(getReq("104")),
      headers: { "content-type": "application/proto", "connect-protocol-version": "1" },
      status: 200,
      check: (b) => assert.equal(fromBinary(GetOrderResponseSchema, b).order?.id, "104"),
    },
    { name: "NOT_FOUND", body: Buffer.from('{"id":"nope"}'), headers: { "content-type": "application/json" }, status: 404 },
    {
      name: "INVALID_ARGUMENT with details",
      body: Buffer.from('{"id":""}'),
      headers: { "content-type": "application/json" },
      status: 400,
      check: (b) => assert.equal(JSON.parse(b.toString()).details[0].type, "google.rpc.BadRequest"),
    },
    { name: "malformed JSON", body: Buffer.from("{"), headers: { "content-type": "application/json" }, status: 400 },
    {
      name: "gzip request",
      body: gzipSync('{"id":"105"}'),
      headers: { "content-type": "application/json", "content-encoding": "gzip" },
      status: 200,
      check: (b) => assert.equal(JSON.parse(b.toString()).order.id, "105"),
    },
    {
      name: "gzip response for a large message",
      body: Buffer.from('{"id":"big"}'),
      headers: { "content-type": "application/json", "accept-encoding": "gzip" },
      status: 200,
      check: (b, h) => {
        assert.equal(h["content-encoding"], "gzip");
        assert.equal(JSON.parse(gunzipSync(b).toString()).order.description.length, 900);
      },
    },
    {
      name: "gzip request for a large message, no accept-encoding: gzip response (connect's negotiation)",
      body: gzipSync('{"id":"big"}'),
      headers: { "content-type": "application/json", "content-encoding": "gzip" },
      status: 200,
      check: (b, h) => {
        assert.equal(h["content-encoding"], "gzip");
        assert.equal(JSON.parse(gunzipSync(b).toString()).order.description.length, 900);
      },
    },
    {
      name: "oversized body",
      body: Buffer.from(JSON.stringify({ id: "x".repeat(maxBytes) })),
      headers: { "content-type": "application/json" },
      status: 429,
    },
  ];
  for (const version of ["HTTP/1.1", "h2c"] as const) {
    for (const c of cases) {
      test(`${version} ${c.name}`, async () => {
        const call = async (s: ServerProcess) => {
          if (version === "HTTP/1.1") return http1(s.url, getOrder, c.body, c.headers);
          const r = await rawHttp2(s.url, getOrder, c.body, c.headers);
          return { status: Number(r.headers[":status"]), headers: r.headers, body: r.body };
        };
        const [a, b] = await Promise.all([call(fast), call(stock)]);
        assert.equal(a.status, c.status, a.body.toString());
        assert.equal(b.status, c.status, b.body.toString());
        assert.equal(a.headers.vary, undefined, "fast path answered");
        assert.equal(a.headers["content-type"], b.headers["content-type"]);
        assert.deepEqual(connectHeaders(a.headers), connectHeaders(b.headers), "headers");
        const plain = (r: typeof a) => (r.headers["content-encoding"] === "gzip" ? gunzipSync(r.body) : r.body);
        if (a.headers["content-type"] === "application/json") {
          assert.deepEqual(JSON.parse(plain(a).toString()), JSON.parse(plain(b).toString()));
        } else {
          assert.deepEqual(plain(a), plain(b));
        }
        c.check?.(a.body, a.headers);
      });
    }
  }
});

describe("an independent @grpc/grpc-js client on the fast path", () => {
  const def = protoLoader.loadSync("grpc/health/v1/health.proto", {
    includeDirs: [path.join(repoRoot, "proto")],
    enums: String,
  });
  const Health = (grpc.loadPackageDefinition(def) as any).grpc.health.v1.Health;

  test("deadline: Watch ends with DEADLINE_EXCEEDED", async () => {
    const client = new Health(`127.0.0.1:${fast.port}`, grpc.credentials.createInsecure());
    t_after(() => client.close());
    const call = client.watch({ service: "" }, { deadline: Date.now() + 300 });
    const seen: string[] = [];
    call.on("data", (m: { status: string }) => seen.push(m.status));
    const err = await new Promise<grpc.ServiceError>((resolve) => call.on("error", resolve));
    assert.equal(err.code, grpc.status.DEADLINE_EXCEEDED);
    assert.deepEqual(seen, ["SERVING"]);
  });

  test("cancel: the server ends the Watch (request log says Canceled) and keeps serving", async () => {
    const client = new Health(`127.0.0.1:${fast.port}`, grpc.credentials.createInsecure());
    t_after(() => client.close());
    const call = client.watch({ service: "order.v1.OrderService" });
    await new Promise((resolve) => call.once("data", resolve));
    call.on("error", () => {});
    call.cancel();
    const logged = () =>
      fast.logs.some((l) => l.method === "grpc.health.v1.Health/Watch" && l.code === "Canceled");
    for (let i = 0; i < 200 && !logged(); i++) await new Promise((r) => setTimeout(r, 50));
    assert.ok(logged(), "request log line with code Canceled");
    const res = await new Promise<{ status: string }>((resolve, reject) =>
      client.check({ service: "" }, (e: Error | null, r: { status: string }) => (e ? reject(e) : resolve(r))),
    );
    assert.equal(res.status, "SERVING");
  });
});

const cleanups: Array<() => void> = [];
function t_after(fn: () => void): void {
  cleanups.push(fn);
}
after(() => {
  for (const fn of cleanups) fn();
});
