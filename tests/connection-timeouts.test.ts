// Connection timeouts (issue 13 §3): slow HTTP/1.1 headers and bodies get
// 408 and the connection closed, idle keep-alive connections and idle HTTP/2
// sessions close, a dead HTTP/2 peer is found by PING — and an open but
// quiet long-lived stream is never cut. Small limits so the test is quick;
// every wait is bounded.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import * as http2 from "node:http2";
import * as net from "node:net";
import * as tls from "node:tls";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { create, toBinary } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { LogService } from "@switchboard/gen/log/v1/log_pb.js";
import { GetOrderRequestSchema } from "@switchboard/gen/order/v1/order_pb.js";
import { grpcFrame, rawHttp2 } from "@switchboard/test-harness/raw-http2";
import { startServerProcess, type ServerProcess } from "@switchboard/test-harness/server-process";
import { requireProgram } from "@switchboard/test-harness/tools";

const limitMs = 1500;
/** Far beyond every limit above: a connection still open by then was not cut. */
const boundMs = 15_000;
let server: ServerProcess;
let pingServer: ServerProcess;

before(async () => {
  server = await startServerProcess({
    args: [
      "--services", "order,log", "--no-request-log",
      "--header-timeout", String(limitMs), "--body-timeout", String(limitMs), "--body-min-rate", "500",
      "--keep-alive-timeout", "1000", "--idle-timeout", "1000", "--ping-interval", "600000",
    ],
  });
  pingServer = await startServerProcess({
    args: ["--services", "log", "--no-request-log", "--idle-timeout", "0", "--ping-interval", "300", "--ping-timeout", "300"],
  });
});
after(async () => {
  await server?.cleanup();
  await pingServer?.cleanup();
});

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what} not within ${ms} ms`)), ms))]);
}

/** A raw TCP connection: what it received, and a promise of its close. */
function connectRaw(port: number) {
  const socket = net.connect(port, "127.0.0.1");
  let received = "";
  socket.on("data", (d) => (received += d.toString("latin1")));
  socket.on("error", () => {});
  const closed = new Promise<void>((r) => socket.once("close", () => r()));
  return { socket, closed, received: () => received };
}

/** Writes `text` one byte at a time every `everyMs` until the socket closes. */
function trickle(socket: net.Socket, text: string, everyMs: number): () => void {
  let i = 0;
  const timer = setInterval(() => {
    if (socket.destroyed) return clearInterval(timer);
    socket.write(text[i++ % text.length]!);
  }, everyMs);
  return () => clearInterval(timer);
}

test("HTTP/1.1: headers sent one byte at a time → 408 and closed", async () => {
  const c = connectRaw(server.port);
  c.socket.write("GET /order.v1.OrderService/GetOrder HTTP/1.1\r\nhost: x\r\n");
  const stop = trickle(c.socket, "x-slow: aaaaaaaa\r\n", 200);
  try {
    await within(c.closed, boundMs, "slow-header connection closed");
  } finally {
    stop();
  }
  assert.match(c.received(), /^HTTP\/1\.1 408 /);
});

test("HTTP/1.1: a body under the minimum rate → 408 and closed; one above it is served", async () => {
  const c = connectRaw(server.port);
  c.socket.write(
    "POST /order.v1.OrderService/GetOrder HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 10000\r\n\r\n",
  );
  const stop = trickle(c.socket, " ", 100); // 10 bytes/s
  try {
    await within(c.closed, boundMs, "slow-body connection closed");
  } finally {
    stop();
  }
  assert.match(c.received(), /^HTTP\/1\.1 408 /);

  // 100 bytes every 100 ms (1000 B/s) for about 3 s, twice the initial allowance: never cut.
  const body = `{"id":"102"${" ".repeat(3000)}}`;
  const ok = connectRaw(server.port);
  ok.socket.write(
    `POST /order.v1.OrderService/GetOrder HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\nconnection: close\r\ncontent-length: ${body.length}\r\n\r\n`,
  );
  for (let at = 0; at < body.length; at += 100) {
    ok.socket.write(body.slice(at, at + 100));
    await new Promise((r) => setTimeout(r, 100));
  }
  await within(ok.closed, boundMs, "the answer");
  assert.match(ok.received(), /^HTTP\/1\.1 200 /);
  assert.match(ok.received(), /"id":"102"/);
});

test("HTTP/1.1: an idle keep-alive connection is closed", async () => {
  const c = connectRaw(server.port);
  c.socket.write(`GET /order.v1.OrderService/GetOrder?encoding=json&message=${encodeURIComponent('{"id":"102"}')} HTTP/1.1\r\nhost: x\r\n\r\n`);
  await within(c.closed, boundMs, "idle keep-alive connection closed");
  assert.match(c.received(), /^HTTP\/1\.1 200 /);
});

test("HTTP/2: an idle session gets GOAWAY; a quiet open ConsumeStream is not cut", async () => {
  const session = http2.connect(server.url);
  session.on("error", () => {});
  const goaway = new Promise<number>((r) => session.once("goaway", (code) => r(code)));
  const closed = new Promise<void>((r) => session.once("close", () => r()));
  const res = await rawHttp2(server.url, "/order.v1.OrderService/GetOrder", grpcFrame(toBinary(GetOrderRequestSchema, create(GetOrderRequestSchema, { id: "102" }))));
  assert.equal(res.grpcStatus, 0);
  // This session made no call at all: after the idle timeout it is told to go away.
  assert.equal(await within(goaway, boundMs, "GOAWAY"), http2.constants.NGHTTP2_NO_ERROR);
  await within(closed, boundMs, "idle session closed");

  // A tail of the log stays open while nothing happens, far past the idle timeout.
  const client = createClient(LogService, createGrpcTransport({ baseUrl: server.url }));
  const { nextOffset } = await client.getOffsets({});
  const ac = new AbortController();
  const it = client.consumeStream({ offset: nextOffset }, { signal: ac.signal })[Symbol.asyncIterator]();
  const first = it.next();
  await new Promise((r) => setTimeout(r, 3 * 1000 + 500)); // 3.5 × --idle-timeout
  await client.produce({ record: { value: new TextEncoder().encode("still here") } });
  const got = await within(first, boundMs, "the record on the long-lived stream");
  assert.equal(new TextDecoder().decode(got.value?.record?.value), "still here");
  ac.abort();
});

test("HTTP/2: a peer that never answers PING is disconnected; a live one with an open stream stays", async () => {
  const dead = connectRaw(pingServer.port);
  // The preface and an empty SETTINGS frame, then silence: no SETTINGS ACK, no PING ACK.
  dead.socket.write(Buffer.concat([Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1"), Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])]));
  const live = createClient(LogService, createGrpcTransport({ baseUrl: pingServer.url }));
  const { nextOffset } = await live.getOffsets({});
  const ac = new AbortController();
  const it = live.consumeStream({ offset: nextOffset }, { signal: ac.signal })[Symbol.asyncIterator]();
  const first = it.next();
  await within(dead.closed, boundMs, "the dead peer's connection closed");
  await live.produce({ record: { value: new TextEncoder().encode("alive") } });
  const got = await within(first, boundMs, "the record on the live stream");
  assert.equal(new TextDecoder().decode(got.value?.record?.value), "alive");
  ac.abort();
});

test("HTTP/1.1 over TLS: headers sent one byte at a time → 408 and closed", async (t) => {
  requireProgram("openssl", "Debian package openssl");
  const dir = mkdtempSync(path.join(tmpdir(), "switchboard-tls-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const cert = path.join(dir, "cert.pem");
  const key = path.join(dir, "key.pem");
  execFileSync("openssl", [
    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
    "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=localhost",
  ], { stdio: "ignore" });
  const tlsServer = await startServerProcess({
    args: ["--services", "order", "--no-request-log", "--tls-cert", cert, "--tls-key", key, "--header-timeout", String(limitMs)],
  });
  t.after(() => tlsServer.cleanup());
  const socket = tls.connect({ port: tlsServer.port, host: "127.0.0.1", rejectUnauthorized: false, ALPNProtocols: ["http/1.1"] });
  socket.on("error", () => {});
  let received = "";
  socket.on("data", (d: Buffer) => (received += d.toString("latin1")));
  const closed = new Promise<void>((r) => socket.once("close", () => r()));
  await new Promise<void>((r) => socket.once("secureConnect", () => r()));
  socket.write("GET / HTTP/1.1\r\nhost: x\r\n");
  const stop = trickle(socket, "x-slow: aaaaaaaa\r\n", 200);
  try {
    await within(closed, boundMs, "slow-header TLS connection closed");
  } finally {
    stop();
  }
  assert.match(received, /^HTTP\/1\.1 408 /);
});
