// ClusterService.GetClusterStatus and `switchboard cluster status`: every
// registered instance with its backends (PostgreSQL shared, log embedded)
// and their health, as they change: PostgreSQL down, an instance killed, the
// JetStream log's stream leader killed.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { etcdFixture, freePort } from "@switchboard/test-harness/etcd";
import { eventually } from "@switchboard/test-harness/eventually";
import { runCli } from "@switchboard/test-harness/cli";
import { startNatsCluster } from "@switchboard/test-harness/nats";
import { startPostgres } from "@switchboard/test-harness/postgres";
import { startServerProcess } from "@switchboard/test-harness/server-process";
import { requireProgram } from "@switchboard/test-harness/tools";

const fx = etcdFixture();

interface StatusJson {
  registryEnabled: boolean;
  instances: Array<{ address: string; reachable: boolean; error: string; services: string[]; backends: Array<{ role: string; kind: string; target: string; health: string; shared: boolean; detail?: string; replicas?: number; leader?: string; lag?: string }> }>;
}

test("cluster status: instances, backends and health; PostgreSQL down and a killed instance show", { timeout: 120_000 }, async (t) => {
  const pg = await startPostgres();
  t.after(() => pg.cleanup());
  const args = ["--etcd", fx.etcd.endpoint, "--postgres", pg.url.replace("postgres@", "postgres:s3cret@"), "--lease-ttl", "30", "--no-request-log"];
  const a = await startServerProcess({ args });
  const b = await startServerProcess({ args });
  fx.servers.push(a, b);
  const addrs = [a, b].map((s) => `127.0.0.1:${s.port}`);
  const status = async (exit: number) => {
    const r = await runCli(["cluster", "status", "--json", "--etcd", fx.etcd.endpoint]);
    assert.equal(r.code, exit, r.stderr + r.stdout);
    return JSON.parse(r.stdout) as StatusJson;
  };
  await eventually(async () => (await runCli(["cluster", "status", "--json", "--server", a.url])).stdout.split(addrs[1]!).length > 1, 20_000, "both registered");

  const s = await status(0);
  assert.equal(s.registryEnabled, true);
  assert.deepEqual(s.instances.map((i) => i.address).sort(), [...addrs].sort());
  for (const i of s.instances) {
    assert.equal(i.reachable, true);
    const byRole = Object.fromEntries(i.backends.map((x) => [x.role, x]));
    assert.equal(byRole.orders?.kind, "postgresql");
    assert.equal(byRole.orders?.shared, true);
    assert.equal(byRole.orders?.health, "BACKEND_HEALTH_HEALTHY");
    assert.equal(byRole.tasks?.kind, "postgresql");
    assert.equal(byRole.log?.kind, "segments");
    assert.equal(byRole.log?.shared, false);
    // The password never leaves the server.
    assert.match(byRole.orders!.target, /postgres:\*\*\*@127\.0\.0\.1/);
    assert.doesNotMatch(JSON.stringify(i), /s3cret/);
  }

  // The table form names every instance and backend.
  const table = await runCli(["cluster", "status", "--server", a.url]);
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /^INSTANCE\s+ROLE\s+BACKEND\s+HEALTH\s+DETAIL/);
  for (const addr of addrs) assert.match(table.stdout, new RegExp(`${addr}\\s+orders\\s+postgresql \\(shared\\)\\s+healthy`));

  // PostgreSQL down: both instances report it unhealthy (exit code 3), then healthy again.
  await pg.stop();
  const down = await eventually(async () => {
    const r = await runCli(["cluster", "status", "--json", "--server", a.url]);
    const j = JSON.parse(r.stdout) as StatusJson;
    return r.code === 3 && j.instances.every((i) => i.backends.find((x) => x.role === "orders")?.health === "BACKEND_HEALTH_UNHEALTHY") ? j : undefined;
  }, 20_000, "postgres unhealthy on both");
  assert.equal(down.instances.length, 2);
  await pg.restart();
  await eventually(async () => (await runCli(["cluster", "status", "--server", a.url])).code === 0, 20_000, "healthy again");

  // kill -9 of b: its registration outlives it (lease TTL 30 s); it is listed as unreachable.
  b.child.kill("SIGKILL");
  await b.exited;
  const afterKill = await status(3);
  const dead = afterKill.instances.find((i) => i.address === addrs[1]);
  assert.equal(dead?.reachable, false);
  assert.notEqual(dead?.error, "");
  assert.equal(afterKill.instances.find((i) => i.address === addrs[0])?.reachable, true);
});

test("cluster status without --etcd: only the answering instance, embedded backends", async (t) => {
  const s = await startServerProcess({ args: ["--no-request-log"] });
  t.after(() => s.cleanup());
  const r = await runCli(["cluster", "status", "--json", "--server", s.url]);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout) as StatusJson;
  assert.equal(j.registryEnabled, false);
  assert.equal(j.instances.length, 1);
  assert.deepEqual(j.instances[0]!.backends.map((x) => `${x.role}:${x.kind}`).sort(), ["log:segments", "orders:sqlite", "tasks:sqlite"]);
});

test("cluster status with --nats: the JetStream log's stream, replicas, leader and followers; the leader killed shows", { timeout: 120_000 }, async (t) => {
  const nats = await startNatsCluster();
  t.after(() => nats.cleanup());
  const stream = "status-log";
  const args = ["--etcd", fx.etcd.endpoint, "--nats", nats.urls, "--log-stream", stream, "--services", "log",
    // Its own prefix: the instances the tests above registered (one killed) are not listed.
    "--registry-prefix", "switchboard/nats-status", "--lease-ttl", "30", "--no-request-log"];
  const a = await startServerProcess({ args });
  const b = await startServerProcess({ args });
  fx.servers.push(a, b);
  const logBackends = async () => {
    const r = await runCli(["cluster", "status", "--json", "--server", a.url]);
    const j = JSON.parse(r.stdout) as StatusJson;
    return { code: r.code, logs: j.instances.map((i) => ({ address: i.address, ...i.backends.find((x) => x.role === "log")! })) };
  };
  const healthy = await eventually(async () => {
    const s = await logBackends();
    return s.logs.length === 2 && s.code === 0 ? s : undefined;
  }, 30_000, "both instances report a healthy JetStream log");
  const names = nats.nodes.map((n) => n.name);
  for (const l of healthy.logs) {
    assert.equal(l.kind, "jetstream");
    assert.equal(l.shared, true);
    assert.equal(l.health, "BACKEND_HEALTH_HEALTHY");
    assert.equal(l.replicas, 3);
    assert.ok(names.includes(l.leader!), `leader ${l.leader}`);
    assert.equal(l.lag ?? "0", "0");
    assert.match(l.target, new RegExp(`nats://127\\.0\\.0\\.1:\\d+.* stream ${stream}$`));
    // The two followers, each current.
    const followers = names.filter((n) => n !== l.leader);
    for (const f of followers) assert.match(l.detail!, new RegExp(`${f} current lag 0`));
  }
  // Both instances see the same stream, so the same leader.
  assert.equal(healthy.logs[0]!.leader, healthy.logs[1]!.leader);

  const table = await runCli(["cluster", "status", "--server", a.url]);
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, new RegExp(`log\\s+jetstream \\(shared\\)\\s+healthy\\s+nats://\\S+ stream ${stream}, replicas 3, leader n\\d, lag 0, followers n\\d current`));

  // kill -9 of the stream leader's nats-server: another leader is elected and the
  // dead replica shows as not current (degraded, exit code 3) on both instances.
  const oldLeader = healthy.logs[0]!.leader!;
  await nats.kill(names.indexOf(oldLeader));
  const degraded = await eventually(async () => {
    const s = await logBackends();
    const ok = s.logs.every((l) => l.leader && l.leader !== oldLeader && l.health === "BACKEND_HEALTH_DEGRADED" && new RegExp(`${oldLeader} behind`).test(l.detail ?? ""));
    return ok && s.code === 3 ? s : undefined;
  }, 45_000, "a new leader, the killed node behind");
  assert.equal(degraded.logs.length, 2);
  await nats.restart(names.indexOf(oldLeader));
  await eventually(async () => (await logBackends()).code === 0, 45_000, "healthy again after the node is back");
});

test("cluster status with --nats on a single (not clustered) NATS server: healthy, the server is the leader", { timeout: 60_000 }, async (t) => {
  const bin = requireProgram("nats-server", "Debian package nats-server");
  const dir = mkdtempSync(path.join(tmpdir(), "switchboard-nats1-"));
  const port = await freePort();
  const nats = spawn(bin, ["-js", "-n", "solo", "-a", "127.0.0.1", "-p", String(port), "-sd", dir], { stdio: "ignore" });
  const natsExited = new Promise((r) => nats.once("exit", r));
  t.after(async () => {
    nats.kill("SIGKILL");
    await natsExited;
    rmSync(dir, { recursive: true, force: true });
  });
  // The server retries its first NATS connection only briefly: wait until it accepts.
  const s = await eventually(
    async () => startServerProcess({ args: ["--nats", `nats://127.0.0.1:${port}`, "--services", "log", "--no-request-log"] }).catch(() => undefined),
    20_000,
    "a server on the single NATS",
  );
  t.after(() => s.cleanup());
  const r = await runCli(["cluster", "status", "--json", "--server", s.url]);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  const log = (JSON.parse(r.stdout) as StatusJson).instances[0]!.backends.find((x) => x.role === "log")!;
  assert.deepEqual([log.kind, log.health, log.replicas, log.leader], ["jetstream", "BACKEND_HEALTH_HEALTHY", 1, "solo"]);
});
