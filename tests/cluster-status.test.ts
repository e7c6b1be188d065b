// ClusterService.GetClusterStatus and `switchboard cluster status`: every
// registered instance with its backends (PostgreSQL shared, log embedded)
// and their health, as they change: PostgreSQL down, an instance killed.
import assert from "node:assert/strict";
import { test } from "node:test";
import { etcdFixture } from "./harness/etcd.ts";
import { eventually } from "./harness/eventually.ts";
import { runCli } from "./harness/cli.ts";
import { startPostgres } from "./harness/postgres.ts";
import { startServerProcess } from "./harness/server-process.ts";

const fx = etcdFixture();

interface StatusJson {
  registryEnabled: boolean;
  instances: Array<{ address: string; reachable: boolean; error: string; services: string[]; backends: Array<{ role: string; kind: string; target: string; health: string; shared: boolean }> }>;
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
