// The CLI and the worker with --etcd: listing, balanced calls, worker registration.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import path from "node:path";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { ClusterService } from "@switchboard/gen/cluster/v1/cluster_pb.js";
import { startEtcd, type EtcdProcess } from "@switchboard/test-harness/etcd";
import { eventually } from "@switchboard/test-harness/eventually";
import { repoRoot, startServerProcess, type ServerProcess } from "@switchboard/test-harness/server-process";

const cliMain = path.join(repoRoot, "node-client/src/cli/main.ts");
const prefix = "c1/services";
let etcd: EtcdProcess;
const servers: ServerProcess[] = [];

before(async () => {
  etcd = await startEtcd();
  servers.push(
    ...(await Promise.all(
      [0, 1].map(() =>
        startServerProcess({ args: ["--etcd", etcd.endpoint, "--lease-ttl", "3", "--registry-prefix", prefix] }),
      ),
    )),
  );
  await eventually(() => servers.every((s) => s.logs.some((l) => l.msg === "registered in etcd")), 15_000, "registered");
});
after(async () => {
  await Promise.all(servers.map((s) => s.cleanup()));
  await etcd?.cleanup();
});

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cliMain, ...args], { timeout: 30_000, env: { ...process.env, SWITCHBOARD_SERVER: "" } }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

test("switchboard services --etcd lists every registered instance per service", { timeout: 120_000 }, async () => {
  const r = await cli(["services", "--etcd", etcd.endpoint, "--etcd-prefix", prefix, "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const rows = r.stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { service?: string; worker?: string; address: string; protocols: string[] })
    .filter((x) => x.service !== undefined);
  const addresses = servers.map((s) => `127.0.0.1:${s.port}`).sort();
  for (const service of ["log.v1.LogService", "node.v1.NodeService", "order.v1.OrderService"]) {
    assert.deepEqual(rows.filter((x) => x.service === service).map((x) => x.address), addresses, service);
  }
  assert.equal(rows.length, 6);
  const table = await cli(["services", "--etcd", etcd.endpoint, "--etcd-prefix", prefix]);
  assert.match(table.stdout, /SERVICE\s+ADDRESS\s+INSTANCE/);
});

test("switchboard orders get --etcd calls through the balancing transport", { timeout: 120_000 }, async () => {
  const r = await cli(["orders", "get", "102", "--etcd", etcd.endpoint, "--etcd-prefix", prefix, "--json"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Google Pixel 3A/);
  const h = await cli(["health", "--etcd", etcd.endpoint, "--etcd-prefix", prefix]);
  assert.equal(h.code, 0, h.stderr);
});

test("a worker with --etcd finds the master there and registers under switchboard/workers/<id> until it stops", { timeout: 120_000 }, async (t) => {
  const worker = spawn(
    process.execPath,
    [cliMain, "worker", "--etcd", etcd.endpoint, "--etcd-prefix", prefix, "--id", "w-etcd-1", "--label", "zone=a", "--allow", "echo"],
    { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, SWITCHBOARD_SERVER: "" } },
  );
  const exited = new Promise<number | null>((r) => worker.once("exit", (code) => r(code)));
  t.after(() => {
    if (worker.exitCode === null && worker.signalCode === null) worker.kill("SIGKILL");
  });
  let stderr = "";
  worker.stderr!.on("data", (d) => (stderr += String(d)));
  await eventually(
    async () => (await etcd.etcdctl(["get", "--keys-only", "switchboard/workers/w-etcd-1"])).includes("w-etcd-1"),
    20_000,
    `worker registration (stderr: ${stderr})`,
  );
  const value = JSON.parse((await etcd.etcdctl(["get", "--print-value-only", "switchboard/workers/w-etcd-1"])).trim()) as {
    labels: Record<string, string>;
  };
  assert.deepEqual(value.labels, { zone: "a" });
  const listed = await cli(["services", "--etcd", etcd.endpoint, "--etcd-prefix", prefix, "--json"]);
  const workerRow = listed.stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { worker?: string; labels?: Record<string, string> })
    .find((x) => x.worker === "w-etcd-1");
  assert.deepEqual(workerRow?.labels, { zone: "a" }, listed.stdout);
  const fromServer = await createClient(ClusterService, createGrpcTransport({ baseUrl: servers[0]!.url })).listWorkers({});
  assert.equal(fromServer.registryEnabled, true);
  assert.deepEqual(
    fromServer.workers.map((w) => [w.id, w.labels]),
    [["w-etcd-1", { zone: "a" }]],
  );
  assert.match(stderr, /"event":"connected"/);
  worker.kill("SIGTERM");
  assert.equal(await exited, 0, stderr);
  assert.equal((await etcd.etcdctl(["get", "--keys-only", "switchboard/workers/w-etcd-1"])).trim(), "");
});
