// /metrics after a known mix of calls over gRPC, gRPC-Web and Connect, on the
// fast path and on connect-node only: exact counter deltas and code names,
// the unknown-method series, the request log's vocabulary and trace ids,
// the domain metrics, and the flags (--no-metrics, --metrics-port, auth).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { pino } from "pino";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { OrderService } from "@switchboard/gen/order/v1/order_pb.js";
import { LogService } from "@switchboard/gen/log/v1/log_pb.js";
import { start, type RunningServer } from "@switchboard/server/server";
import { scrape, sum, type Sample } from "@switchboard/test-harness/metrics";

const protocols: Array<{ label: string; make: (baseUrl: string) => Transport }> = [
  { label: "grpc", make: (baseUrl) => createGrpcTransport({ baseUrl }) },
  { label: "grpc_web", make: (baseUrl) => createGrpcWebTransport({ baseUrl, httpVersion: "1.1" }) },
  { label: "connect", make: (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "1.1" }) },
];
/** More clients: Connect over h2c and gRPC-Web over h2c take other paths (fast path's HTTP/2 Connect, connect-node h2). */
const moreClients: Array<{ label: string; make: (baseUrl: string) => Transport }> = [
  { label: "connect", make: (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "2" }) },
  { label: "grpc_web", make: (baseUrl) => createGrpcWebTransport({ baseUrl, httpVersion: "2" }) },
];

/** A server with its log lines captured. */
async function startServer(opts: Parameters<typeof start>[0] = {}) {
  const dataDir = mkdtempSync(path.join(tmpdir(), "switchboard-metrics-"));
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split("\n")) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  const server = await start({ host: "127.0.0.1", port: 0, dataDir, logger: pino({ level: "info" }, sink), ...opts });
  return {
    server,
    lines,
    async close() {
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function fails(p: Promise<unknown>): Promise<ConnectError> {
  try {
    await p;
  } catch (err) {
    return ConnectError.from(err);
  }
  assert.fail("expected the call to fail");
}

const delta = (a: Sample[], b: Sample[], name: string, match: Record<string, string>) => sum(b, name, match) - sum(a, name, match);

for (const fastPath of [true, false]) {
  describe(`RPC metrics (${fastPath ? "fast path" : "--no-fast-path"})`, () => {
    let s: Awaited<ReturnType<typeof startServer>>;
    before(async () => {
      s = await startServer({ fastPath });
    });
    after(() => s?.close());

    test("exact counter deltas and code names per protocol after a known mix of calls", async () => {
      const url = s.server.metricsUrl!;
      const t0 = (await scrape(url)).samples;
      for (const p of [...protocols, ...moreClients]) {
        const orders = createClient(OrderService, p.make(s.server.url));
        // 2 × OK, 1 × NotFound, 1 × InvalidArgument.
        await orders.getOrder({ id: "102" });
        await orders.getOrder({ id: "102" });
        assert.equal((await fails(orders.getOrder({ id: "no-such-order" }))).code, Code.NotFound);
        assert.equal((await fails(orders.getOrder({ id: "" }))).code, Code.InvalidArgument);
      }
      // Streams over gRPC: 3 records produced in one bidi call, then read back in one server stream.
      const log = createClient(LogService, createGrpcTransport({ baseUrl: s.server.url }));
      const acks = [];
      for await (const a of log.produceStream(
        (async function* () {
          for (const v of ["a", "b", "c"]) yield { record: { value: new TextEncoder().encode(v) } };
        })(),
      )) {
        acks.push(a.offset);
      }
      assert.equal(acks.length, 3);
      const read = [];
      for await (const r of log.consumeStream({ offset: acks[0]!, stopAtEnd: true })) read.push(r);
      assert.equal(read.length, 3);
      // Unknown procedures: one `unknown` series per protocol, never the raw path.
      for (const p of protocols) {
        const unknownMethod = { ...OrderService.method.getOrder, name: "NoSuchMethod" };
        const client = createClient({ ...OrderService, method: { getOrder: unknownMethod }, methods: [unknownMethod] } as never, p.make(s.server.url)) as {
          getOrder(req: object): Promise<unknown>;
        };
        assert.equal((await fails(client.getOrder({ id: "1" }))).code, Code.Unimplemented);
      }
      const t1 = (await scrape(url)).samples;

      const getOrder = { grpc_service: "order.v1.OrderService", grpc_method: "GetOrder", grpc_type: "unary" };
      for (const p of protocols) {
        const m = { ...getOrder, protocol: p.label };
        // Each client made 4 calls: grpc has one client, connect and grpc_web two (HTTP/1.1 and h2c).
        const k = p.label === "grpc" ? 1 : 2;
        assert.equal(delta(t0, t1, "grpc_server_started_total", m), 4 * k, `started ${p.label}`);
        assert.equal(delta(t0, t1, "grpc_server_handled_total", { ...m, grpc_code: "OK" }), 2 * k, `OK ${p.label}`);
        assert.equal(delta(t0, t1, "grpc_server_handled_total", { ...m, grpc_code: "NotFound" }), 1 * k, `NotFound ${p.label}`);
        assert.equal(delta(t0, t1, "grpc_server_handled_total", { ...m, grpc_code: "InvalidArgument" }), 1 * k, `InvalidArgument ${p.label}`);
        assert.equal(delta(t0, t1, "grpc_server_handled_total", m), 4 * k, `handled ${p.label}`);
        assert.equal(delta(t0, t1, "grpc_server_msg_received_total", m), 4 * k, `received ${p.label}`);
        assert.equal(delta(t0, t1, "grpc_server_msg_sent_total", m), 2 * k, `sent ${p.label}`);
        assert.equal(delta(t0, t1, "grpc_server_handling_seconds_count", m), 4 * k, `histogram count ${p.label}`);
        assert.equal(delta(t0, t1, "grpc_server_handling_seconds_bucket", { ...m, le: "+Inf" }), 4 * k);
        const unknown = { grpc_service: "unknown", grpc_method: "unknown", protocol: p.label };
        assert.equal(delta(t0, t1, "grpc_server_started_total", unknown), 1, `unknown started ${p.label}`);
        assert.equal(delta(t0, t1, "grpc_server_handled_total", { ...unknown, grpc_code: "Unimplemented" }), 1);
      }
      assert.ok(!t1.some((x) => x.labels.grpc_method === "NoSuchMethod"), "the raw method name is never a label value");
      const produce = { grpc_service: "log.v1.LogService", grpc_method: "ProduceStream", grpc_type: "bidi_stream", protocol: "grpc" };
      assert.equal(delta(t0, t1, "grpc_server_started_total", produce), 1);
      assert.equal(delta(t0, t1, "grpc_server_msg_received_total", produce), 3);
      assert.equal(delta(t0, t1, "grpc_server_msg_sent_total", produce), 3);
      assert.equal(delta(t0, t1, "grpc_server_handled_total", { ...produce, grpc_code: "OK" }), 1);
      const consume = { grpc_service: "log.v1.LogService", grpc_method: "ConsumeStream", grpc_type: "server_stream", protocol: "grpc" };
      assert.equal(delta(t0, t1, "grpc_server_msg_received_total", consume), 1);
      assert.equal(delta(t0, t1, "grpc_server_msg_sent_total", consume), 3);
      assert.equal(delta(t0, t1, "grpc_server_handled_total", { ...consume, grpc_code: "OK" }), 1);
      // The log's own metrics.
      assert.equal(delta(t0, t1, "switchboard_log_appended_records_total", {}), 3);
      assert.equal(delta(t0, t1, "switchboard_log_appended_bytes_total", {}), 3);
      assert.equal(delta(t0, t1, "switchboard_log_ack_seconds_count", {}), 3);
      assert.equal(sum(t1, "switchboard_log_newest_offset"), Number(acks[2]));
      // Node process defaults.
      for (const name of ["process_cpu_seconds_total", "nodejs_heap_size_used_bytes", "nodejs_eventloop_lag_seconds"]) {
        assert.ok(t1.some((x) => x.name === name), `${name} present`);
      }
    });

    test("the request log uses the same code and protocol names and carries the trace id", async () => {
      const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
      for (const p of protocols) {
        const orders = createClient(OrderService, p.make(s.server.url));
        await orders.getOrder({ id: "102" }, { headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` } });
        await fails(orders.getOrder({ id: "no-such-order" }));
      }
      const rpc = s.lines.filter((l) => l.msg === "rpc" && l.method === "order.v1.OrderService/GetOrder").slice(-6);
      assert.deepEqual(
        rpc.map((l) => [l.protocol, l.code]),
        protocols.flatMap((p) => [[p.label, "OK"], [p.label, "NotFound"]]),
      );
      for (const [i, l] of rpc.entries()) {
        if (i % 2 === 0) assert.equal(l.trace_id, traceId, "the caller's trace id");
        else assert.match(String(l.trace_id), /^[0-9a-f]{32}$/, "a new trace id when none was sent");
      }
      assert.notEqual(rpc[1]!.trace_id, rpc[3]!.trace_id);
    });
  });
}

describe("/metrics flags", () => {
  test("--auth-token guards /metrics unless --metrics-public", async () => {
    const s = await startServer({ authToken: "s3cret-token" });
    try {
      const url = s.server.metricsUrl!;
      assert.equal((await scrape(url)).status, 401);
      assert.equal((await scrape(url, "wrong")).status, 401);
      const ok = await scrape(url, "s3cret-token");
      assert.equal(ok.status, 200);
      assert.ok(ok.samples.some((x) => x.name === "process_cpu_seconds_total"));
    } finally {
      await s.close();
    }
    const p = await startServer({ authToken: "s3cret-token", metricsPublic: true });
    try {
      assert.equal((await scrape(p.server.metricsUrl!)).status, 200);
    } finally {
      await p.close();
    }
  });

  test("--metrics-port serves /metrics on its own port only; --no-metrics serves none", async () => {
    const s = await startServer({ metricsPort: 0 });
    try {
      const url = new URL(s.server.metricsUrl!);
      assert.notEqual(Number(url.port), s.server.port);
      const own = await scrape(url.href);
      assert.equal(own.status, 200);
      assert.ok(own.samples.some((x) => x.name === "grpc_server_started_total" || x.name === "process_cpu_seconds_total"));
      const main = await scrape(`${s.server.url}/metrics`);
      assert.ok(!main.text.includes("process_cpu_seconds_total"), "the service port no longer serves metrics");
      assert.equal((await fetch(`${url.origin}/other`)).status, 404);
    } finally {
      await s.close();
    }
    const off = await startServer({ metrics: false });
    try {
      assert.equal(off.server.metricsUrl, undefined);
      const res = await scrape(`${off.server.url}/metrics`);
      assert.ok(!res.text.includes("process_cpu_seconds_total"));
      // Calls still work, with a trace id in the log line.
      await createClient(OrderService, createGrpcTransport({ baseUrl: off.server.url })).getOrder({ id: "102" });
      const line = off.lines.find((l) => l.msg === "rpc");
      assert.equal(line?.code, "OK");
    } finally {
      await off.close();
    }
  });
});
