// A real Prometheus (Debian's package) scrapes the server every second; the
// GetOrder calls made over the three protocols show up in a PromQL query
// through Prometheus's HTTP API.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { OrderService } from "@switchboard/gen/order/v1/order_pb.js";
import { start, type RunningServer } from "@switchboard/server/server";
import { silentLogger } from "@switchboard/server/logger";
import { eventually } from "@switchboard/test-harness/eventually";
import { startPrometheus, type PrometheusProcess } from "@switchboard/test-harness/prometheus";

const token = "prometheus-test-token";
let server: RunningServer;
let prometheus: PrometheusProcess | undefined;
let dataDir: string;

before(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), "switchboard-prom-"));
  // With a token, so the scrape also proves Prometheus's bearer auth works against /metrics.
  server = await start({ host: "127.0.0.1", port: 0, dataDir, logger: silentLogger(), authToken: token });
});
after(async () => {
  await prometheus?.cleanup();
  await server?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

test("Prometheus scrapes /metrics: up == 1 and sum(grpc_server_handled_total{grpc_method=\"GetOrder\"}) matches the calls", async () => {
  for (const transport of [
    createGrpcTransport({ baseUrl: server.url }),
    createGrpcWebTransport({ baseUrl: server.url, httpVersion: "1.1" }),
    createConnectTransport({ baseUrl: server.url, httpVersion: "1.1" }),
  ]) {
    const orders = createClient(OrderService, transport);
    await orders.getOrder({ id: "102" });
    await orders.getOrder({ id: "102" });
    try {
      await orders.getOrder({ id: "no-such-order" });
      assert.fail("expected NotFound");
    } catch (err) {
      assert.equal(ConnectError.from(err).code, Code.NotFound);
    }
  }
  prometheus = await startPrometheus(`127.0.0.1:${server.port}`, { bearerToken: token });

  await eventually(
    async () => {
      const r = await prometheus!.query('up{job="switchboard"}');
      return r.length === 1 && r[0]!.value[1] === "1";
    },
    60_000,
    'up{job="switchboard"} == 1',
  );
  const total = await eventually(
    async () => {
      const r = await prometheus!.query('sum(grpc_server_handled_total{grpc_method="GetOrder"})');
      return r.length === 1 ? Number(r[0]!.value[1]) : undefined;
    },
    30_000,
    "GetOrder series scraped",
  );
  assert.equal(total, 9, "3 protocols × 3 calls");
  const errors = await prometheus.query('sum by (protocol) (grpc_server_handled_total{grpc_method="GetOrder",grpc_code!="OK"})');
  assert.deepEqual(
    errors.map((e) => [e.metric.protocol, e.value[1]]).sort(),
    [["connect", "1"], ["grpc", "1"], ["grpc_web", "1"]],
  );
});
