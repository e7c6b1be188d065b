// Where a new user trips over the server: a busy port, curl on a streaming
// method, unknown paths answered with the web UI.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile, mkdir } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { OrderService } from "@switchboard/gen/order/v1/order_pb.js";
import { startServerProcess } from "@switchboard/test-harness/server-process";

test("a second server on a busy port says in one line which port and how to choose another, exit 1", async (t) => {
  const first = await startServerProcess();
  t.after(() => first.cleanup());
  const err = await startServerProcess({ port: first.port }).then(
    (second) => {
      void second.cleanup();
      throw new Error("the second server started on a busy port");
    },
    (e: Error) => e,
  );
  const m = /server exited early \(code (\d+), signal null\); stderr:\n([\s\S]*)$/.exec(err.message);
  assert.ok(m, err.message);
  assert.equal(m[1], "1");
  const lines = m[2]!.trim().split("\n");
  assert.equal(lines.length, 1, `one line, no stack trace:\n${m[2]}`);
  assert.match(lines[0]!, new RegExp(`port ${first.port} is already in use \\(127\\.0\\.0\\.1:${first.port}\\)`));
  assert.match(lines[0]!, /--port N/);
  assert.match(lines[0]!, /--port 0 picks a free one/);
  assert.doesNotMatch(lines[0]!, /EADDRINUSE|at .*\.ts:\d+/);
});

test("curl with application/json on streaming methods gets 415 with a body naming the right content type", async (t) => {
  const server = await startServerProcess();
  t.after(() => server.cleanup());
  const cases = [
    ["/order.v1.OrderService/SearchOrders", "server-streaming", "application/json", "json"],
    ["/order.v1.OrderService/UpdateOrders", "client-streaming", "application/json", "json"],
    ["/log.v1.LogService/ProduceStream", "bidi-streaming", "application/proto", "proto"],
    ["/node.v1.NodeService/WatchTasks", "server-streaming", "application/json; charset=utf-8", "json"],
  ] as const;
  for (const [p, kind, contentType, codec] of cases) {
    const res = await fetch(server.url + p, { method: "POST", headers: { "content-type": contentType }, body: "{}" });
    assert.equal(res.status, 415, p);
    assert.equal(res.headers.get("content-type"), "application/json");
    const body = (await res.json()) as { code: string; message: string };
    assert.equal(body.code, "invalid_argument");
    assert.match(body.message, new RegExp(`^${p.slice(1)} is a ${kind} method`));
    assert.ok(body.message.includes(`content-type application/connect+${codec} with enveloped messages`), body.message);
    assert.match(body.message, /gRPC \(application\/grpc\)/);
    assert.match(body.message, /gRPC-Web/);
  }
  // Unary methods are untouched, and the enveloped form the message names works.
  const unary = await fetch(server.url + "/order.v1.OrderService/GetOrder", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ id: "102" }),
  });
  assert.equal(unary.status, 200);
  const envelope = Buffer.concat([Buffer.from([0, 0, 0, 0, 2]), Buffer.from("{}")]);
  const stream = await fetch(server.url + "/order.v1.OrderService/SearchOrders", {
    method: "POST",
    headers: { "content-type": "application/connect+json" },
    body: envelope,
  });
  assert.equal(stream.status, 200);
  assert.match(Buffer.from(await stream.arrayBuffer()).toString(), /"id":"102"/);
  // connect-es over Connect still streams.
  const client = createClient(OrderService, createConnectTransport({ baseUrl: server.url, httpVersion: "1.1" }));
  let n = 0;
  for await (const _ of client.searchOrders({ query: "" })) n++;
  assert.ok(n >= 5);
});

test("unknown paths: index.html only for requests that accept HTML, a 404 naming the path for the rest", async (t) => {
  const web = await mkdtemp(path.join(os.tmpdir(), "sb-web-"));
  t.after(() => rm(web, { recursive: true, force: true }));
  await writeFile(path.join(web, "index.html"), "<!doctype html><title>switchboard-ui</title>");
  await mkdir(path.join(web, "assets"));
  await writeFile(path.join(web, "assets", "app.js"), "console.log(1)");
  // --no-metrics: with metrics on, /metrics is served for real (tests/metrics.test.ts).
  const server = await startServerProcess({ args: ["--web-dir", web, "--no-metrics"] });
  t.after(() => server.cleanup());

  const get = (p: string, accept?: string) =>
    fetch(server.url + p, { headers: accept === undefined ? {} : { accept } });
  // What curl and Prometheus send.
  for (const accept of ["*/*", "text/plain;version=0.0.4;q=0.9,*/*;q=0.1", "application/json", undefined]) {
    const res = await get("/metrics", accept);
    assert.equal(res.status, 404, `accept ${accept}`);
    assert.equal(await res.text(), "not found: GET /metrics (no such file, route or RPC on this server; the web UI is at /)\n");
  }
  const deep = await get("/no/such/thing?x=1", "*/*");
  assert.equal(deep.status, 404);
  assert.match(await deep.text(), /^not found: GET \/no\/such\/thing /);
  // A browser navigating to a deep link gets the app.
  const browser = await get("/orders/102", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8");
  assert.equal(browser.status, 200);
  assert.match(await browser.text(), /switchboard-ui/);
  assert.equal((await get("/orders/102", "text/html;q=0")).status, 404);
  // Real files are served to anyone; "/" is the app.
  assert.equal(await (await get("/assets/app.js", "*/*")).text(), "console.log(1)");
  const root = await get("/", "*/*");
  assert.equal(root.status, 200);
  assert.match(await root.text(), /switchboard-ui/);
  // POST to a non-RPC path stays a 404 too.
  const post = await fetch(server.url + "/metrics", { method: "POST", body: "x" });
  assert.equal(post.status, 404);
  assert.match(await post.text(), /^not found: POST \/metrics/);
});
