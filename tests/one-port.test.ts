// One port for HTTP/2 cleartext and HTTP/1.1 (preface sniffing), slow and
// idle connections, early close, and TLS with ALPN h2 + http/1.1.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import * as http2 from "node:http2";
import * as net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import * as tls from "node:tls";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { Health, HealthCheckResponse_ServingStatus as Status } from "@switchboard/gen/grpc/health/v1/health_pb.js";
import { OrderService } from "@switchboard/gen/order/v1/order_pb.js";
import { grpcClient } from "@switchboard/test-harness/clients";
import { startServerProcess, type ServerProcess } from "@switchboard/test-harness/server-process";
import { eventually } from "@switchboard/test-harness/eventually";
import { requireProgram } from "@switchboard/test-harness/tools";

const sniffTimeoutMs = 400;
let server: ServerProcess;
before(async () => {
  server = await startServerProcess({ args: ["--sniff-timeout", String(sniffTimeoutMs)] });
});
after(() => server?.cleanup());

const preface = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");
const getOrderJson = (id: string) => ({
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify({ id }),
});

/** Sockets the server process holds open right now (from /proc). */
function openSockets(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).filter((fd) => {
    try {
      return readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith("socket:");
    } catch {
      return false; // closed while listing
    }
  }).length;
}

/**
 * A loopback TCP proxy that forwards the client's bytes to the server in
 * `chunk`-byte pieces with a pause between them: a slow, partial preface.
 */
async function slowProxy(port: number, chunk: number, pauseMs: number): Promise<{ port: number; close(): void }> {
  const sockets = new Set<net.Socket>();
  const proxy = net.createServer((client) => {
    const upstream = net.connect(port, "127.0.0.1");
    sockets.add(client).add(upstream);
    upstream.pipe(client);
    let queue = Promise.resolve();
    client.on("data", (data: Buffer) => {
      queue = queue.then(async () => {
        for (let i = 0; i < data.length; i += chunk) {
          upstream.write(data.subarray(i, i + chunk));
          await new Promise((r) => setTimeout(r, pauseMs));
        }
      });
    });
    client.on("end", () => void queue.then(() => upstream.end()));
    for (const s of [client, upstream]) s.on("error", () => { client.destroy(); upstream.destroy(); });
  });
  proxy.listen(0, "127.0.0.1");
  await once(proxy, "listening");
  return {
    port: (proxy.address() as net.AddressInfo).port,
    close() {
      for (const s of sockets) s.destroy();
      proxy.close();
    },
  };
}

describe("one port, plaintext", () => {
  test("HTTP/2 prior knowledge and HTTP/1.1 reach the same handler on the same port", async () => {
    const h1 = await fetch(`${server.url}/order.v1.OrderService/GetOrder`, getOrderJson("103"));
    assert.equal(h1.status, 200);
    assert.deepEqual(((await h1.json()) as { order: { items: string[] } }).order.items, ["Apple Watch S4"]);

    const session = http2.connect(server.url);
    try {
      const req = session.request({ ":method": "POST", ":path": "/order.v1.OrderService/GetOrder", "content-type": "application/json" });
      req.end(JSON.stringify({ id: "103" }));
      const [headers] = (await once(req, "response")) as [http2.IncomingHttpHeaders];
      let body = "";
      for await (const c of req) body += String(c);
      assert.equal(headers[":status"], 200);
      assert.deepEqual((JSON.parse(body) as { order: { items: string[] } }).order.items, ["Apple Watch S4"]);
    } finally {
      session.close();
    }
  });

  test("a preface that arrives a few bytes at a time still works (HTTP/2 and HTTP/1.1)", async (t) => {
    const proxy = await slowProxy(server.port, 3, 5);
    t.after(() => proxy.close());
    const url = `http://127.0.0.1:${proxy.port}`;
    const grpc = createClient(OrderService, createGrpcTransport({ baseUrl: url }));
    assert.equal((await grpc.getOrder({ id: "102" })).order?.id, "102");
    const h1 = createClient(OrderService, createConnectTransport({ baseUrl: url, httpVersion: "1.1" }));
    assert.equal((await h1.getOrder({ id: "104" })).order?.id, "104");
    const web = createClient(OrderService, createGrpcWebTransport({ baseUrl: url, httpVersion: "1.1" }));
    assert.equal((await web.getOrder({ id: "105" })).order?.id, "105");
  });

  test("a socket that sends nothing, or only part of the preface, is closed after --sniff-timeout", async () => {
    for (const first of [Buffer.alloc(0), preface.subarray(0, 10)]) {
      const socket = net.connect(server.port, "127.0.0.1");
      socket.on("error", () => {});
      await once(socket, "connect");
      if (first.length > 0) socket.write(first);
      const closed = once(socket, "close");
      // Generous wait (loaded machine); without the sniff timeout it would stay open.
      const outcome = await Promise.race([closed.then(() => "closed"), new Promise((r) => setTimeout(() => r("open"), 15_000))]);
      socket.destroy();
      assert.equal(outcome, "closed", `socket after ${first.length} bytes`);
    }
  });

  test("early close (nothing, partial preface, full preface, half an HTTP/1.1 request) leaks no socket", async () => {
    const pid = server.pid;
    const baseline = openSockets(pid);
    const openings = [Buffer.alloc(0), preface.subarray(0, 7), preface, Buffer.from("POST /order.v1.OrderService/GetOrder HTTP/1.1\r\nHost: x\r\n")];
    await Promise.all(
      Array.from({ length: 40 }, async (_, i) => {
        const socket = net.connect(server.port, "127.0.0.1");
        socket.on("error", () => {});
        await once(socket, "connect");
        const bytes = openings[i % openings.length]!;
        if (bytes.length > 0) await new Promise((r) => socket.write(bytes, r));
        const closed = once(socket, "close");
        // While still sniffing, a half-close (FIN) also ends the connection;
        // once handed to Node's http/http2 servers, the client aborts.
        if (bytes.length < preface.length && i % 8 < 4) socket.end();
        else socket.destroy();
        await closed;
      }),
    );
    await eventually(() => openSockets(pid) <= baseline, 15_000, `server sockets back to ${baseline}`);
    assert.equal((await grpcClient(Health, server.url).check({ service: "" })).status, Status.SERVING);
  });
});

describe("CORS", () => {
  test("a preflight from an allowed origin is answered and exposes the gRPC/Connect headers", async () => {
    const origin = "http://localhost:5173"; // a default --cors-origin (the Vite dev server)
    const res = await fetch(`${server.url}/order.v1.OrderService/GetOrder`, {
      method: "OPTIONS",
      headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "content-type,connect-protocol-version" },
    });
    assert.ok(res.status === 204 || res.status === 200, `status ${res.status}`);
    assert.equal(res.headers.get("access-control-allow-origin"), origin);
    assert.match(res.headers.get("access-control-allow-headers") ?? "", /connect-protocol-version/i);
    const call = await fetch(`${server.url}/order.v1.OrderService/GetOrder`, { ...getOrderJson("102"), headers: { "content-type": "application/json", origin } });
    assert.equal(call.headers.get("access-control-allow-origin"), origin);
    const exposed = (call.headers.get("access-control-expose-headers") ?? "").toLowerCase();
    for (const h of ["grpc-status", "grpc-message", "grpc-status-details-bin"]) assert.ok(exposed.includes(h), `${h} exposed`);
  });

  test("another origin gets no CORS grant", async () => {
    const res = await fetch(`${server.url}/order.v1.OrderService/GetOrder`, {
      method: "OPTIONS",
      headers: { origin: "https://evil.example", "access-control-request-method": "POST" },
    });
    assert.equal(res.headers.get("access-control-allow-origin"), null);
  });
});

describe("--host localhost", () => {
  test("answers on 127.0.0.1, on the name localhost and (when the machine has IPv6) on ::1", async (t) => {
    const local = await startServerProcess({ args: ["--host", "localhost"] });
    t.after(() => local.cleanup());
    for (const host of ["127.0.0.1", "localhost"]) {
      const res = await fetch(`http://${host}:${local.port}/order.v1.OrderService/GetOrder`, getOrderJson("102"));
      assert.equal(res.status, 200, host);
    }
    const hasIpv6 = await new Promise<boolean>((resolve) => {
      const probe = net.createServer().once("error", () => resolve(false));
      probe.listen(0, "::1", () => probe.close(() => resolve(true)));
    });
    if (hasIpv6) {
      const res = await fetch(`http://[::1]:${local.port}/order.v1.OrderService/GetOrder`, getOrderJson("102"));
      assert.equal(res.status, 200, "::1");
    }
  });
});

describe("TLS with ALPN", () => {
  let tlsServer: ServerProcess;
  let dir: string;
  let ca: Buffer;
  let url: string;
  before(async () => {
    requireProgram("openssl", "Debian package openssl");
    dir = mkdtempSync(path.join(tmpdir(), "switchboard-tls-"));
    const cert = path.join(dir, "cert.pem");
    const key = path.join(dir, "key.pem");
    execFileSync("openssl", [
      "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
      "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=localhost",
      "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
    ], { stdio: "ignore" });
    ca = readFileSync(cert);
    tlsServer = await startServerProcess({ args: ["--tls-cert", cert, "--tls-key", key] });
    url = `https://127.0.0.1:${tlsServer.port}`;
  });
  after(async () => {
    await tlsServer?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  for (const alpn of ["h2", "http/1.1"]) {
    test(`ALPN offers ${alpn}`, async () => {
      const socket = tls.connect({ host: "127.0.0.1", port: tlsServer.port, ca, ALPNProtocols: [alpn], servername: "localhost" });
      try {
        await once(socket, "secureConnect");
        assert.equal(socket.alpnProtocol, alpn);
      } finally {
        socket.destroy();
      }
    });
  }

  test("gRPC over h2 and Connect / gRPC-Web over http/1.1 work on the TLS port", async () => {
    const grpc = createClient(OrderService, createGrpcTransport({ baseUrl: url, nodeOptions: { ca } }));
    assert.equal((await grpc.getOrder({ id: "102" })).order?.id, "102");
    const connect = createClient(OrderService, createConnectTransport({ baseUrl: url, httpVersion: "1.1", nodeOptions: { ca } }));
    const found: string[] = [];
    for await (const r of connect.searchOrders({ query: "echo" })) found.push(r.order!.id);
    assert.deepEqual(found, ["105", "106"]);
    const web = createClient(OrderService, createGrpcWebTransport({ baseUrl: url, httpVersion: "1.1", nodeOptions: { ca } }));
    assert.equal((await web.getOrder({ id: "103" })).order?.id, "103");
  });
});
