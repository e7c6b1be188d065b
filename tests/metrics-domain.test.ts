// The domain metrics on /metrics: tasks by state, finished tasks, connected
// workers and dispatch latency (with a real worker), and the registry's
// discovered endpoints and lease re-registrations (with a real etcd).
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { NodeService, TaskState } from "@switchboard/gen/node/v1/node_pb.js";
import { start } from "@switchboard/server/server";
import { silentLogger } from "@switchboard/server/logger";
import { startWorker } from "@switchboard/node-client/worker";
import { etcdFixture } from "@switchboard/test-harness/etcd";
import { eventually } from "@switchboard/test-harness/eventually";
import { scrape, sum } from "@switchboard/test-harness/metrics";
import { watchToEnd } from "@switchboard/test-harness/node-tasks";
import { startServerProcess } from "@switchboard/test-harness/server-process";

test("task metrics: queued/assigned/running gauge, finished counter, connected workers, dispatch latency", async () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), "switchboard-task-metrics-"));
  const workdir = mkdtempSync(path.join(tmpdir(), "switchboard-task-metrics-w-"));
  const server = await start({ host: "127.0.0.1", port: 0, dataDir, logger: silentLogger(), services: ["node"], deregisterGraceMs: 0 });
  const worker = await startWorker({ serverUrl: server.url, id: "metrics-worker", allow: ["sh"], workdir });
  try {
    const nodes = createClient(NodeService, createGrpcTransport({ baseUrl: server.url }));
    const m = async () => (await scrape(server.metricsUrl!)).samples;
    await eventually(async () => sum(await m(), "switchboard_workers_connected") === 1, 15_000, "one worker connected");

    const ok = await nodes.submitTask({ command: { program: "sh", args: ["-c", "exit 0"] } });
    const bad = await nodes.submitTask({ command: { program: "sh", args: ["-c", "exit 3"] } });
    assert.equal((await watchToEnd(nodes, ok.taskId)).task.state, TaskState.SUCCEEDED);
    assert.equal((await watchToEnd(nodes, bad.taskId)).task.state, TaskState.FAILED);
    // A task no worker can take stays queued.
    await nodes.submitTask({ command: { program: "sh", args: ["-c", "exit 0"] }, labels: { gpu: "none-here" } });

    const after = await eventually(async () => {
      const s = await m();
      return sum(s, "switchboard_tasks", { state: "queued" }) === 1 &&
        sum(s, "switchboard_tasks_finished_total", { state: "failed" }) === 1
        ? s
        : undefined;
    });
    assert.equal(sum(after, "switchboard_tasks", { state: "running" }), 0);
    assert.equal(sum(after, "switchboard_tasks", { state: "assigned" }), 0);
    assert.equal(sum(after, "switchboard_tasks_finished_total", { state: "succeeded" }), 1);
    assert.equal(sum(after, "switchboard_task_dispatch_seconds_count"), 2, "two tasks started");
    assert.ok(sum(after, "switchboard_task_dispatch_seconds_sum") >= 0);
    assert.equal(sum(after, "switchboard_workers_connected"), 1);
  } finally {
    await worker.stop();
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(workdir, { recursive: true, force: true });
  }
});

const fx = etcdFixture();

test("registry metrics: discovered endpoints by service, lease re-registrations", { timeout: 120_000 }, async () => {
  const s = await startServerProcess({ args: ["--etcd", fx.etcd.endpoint, "--lease-ttl", "3", "--services", "order,log"] });
  fx.servers.push(s);
  const url = `${s.url}/metrics`;
  const discovered = await eventually(async () => {
    const m = (await scrape(url)).samples;
    return sum(m, "switchboard_registry_discovered_endpoints") === 2 ? m : undefined;
  }, 30_000, "both services discovered");
  assert.equal(sum(discovered, "switchboard_registry_discovered_endpoints", { service: "order.v1.OrderService" }), 1);
  assert.equal(sum(discovered, "switchboard_registry_discovered_endpoints", { service: "log.v1.LogService" }), 1);
  // 0 unless a loaded machine let the 3 s lease lapse already; the revoke below must add one.
  const before = sum(discovered, "switchboard_registry_reregistrations_total");

  // The log line arrives through a pipe: wait for it rather than assume it is there.
  const registered = await eventually(() => s.logs.findLast((l) => l.msg === "registered in etcd"), 10_000, "the registration log line");
  await fx.etcd.etcdctl(["lease", "revoke", String(registered.leaseId)]);
  await eventually(
    async () => sum((await scrape(url)).samples, "switchboard_registry_reregistrations_total") >= before + 1,
    30_000,
    "a re-registration after the revoke",
  );
});
