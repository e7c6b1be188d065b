// `npm run cluster` (scripts/cluster.ts) as a user runs it: it starts etcd,
// PostgreSQL, NATS and the instances, the instances serve and are registered,
// a second start is refused with one line, and SIGTERM leaves nothing running.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { listInstances } from "@switchboard/naming/list-instances";
import { clusterPorts, defaultLocalClusterOptions, freeClusterPorts } from "../scripts/cluster/local-cluster.ts";
import { busyPorts } from "../scripts/cluster/ports.ts";
import { checkHealth } from "../scripts/cluster/switchboard.ts";
import { repoRoot } from "@switchboard/test-harness/server-process";
import { eventually } from "@switchboard/test-harness/eventually";

const script = path.join(repoRoot, "scripts/cluster.ts");

/** Port flags whose every derived port is free right now. */
async function freePortFlags(instances: number) {
  return { ...defaultLocalClusterOptions, instances, ...(await freeClusterPorts(instances)) };
}

/** PIDs of processes whose command line mentions `needle`. */
function processesMentioning(needle: string): number[] {
  const pids: number[] = [];
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${e}/cmdline`, "utf8").includes(needle)) pids.push(Number(e));
    } catch {}
  }
  return pids;
}

test("npm run cluster: starts, serves, refuses a second start, stops everything on SIGTERM", { timeout: 240_000 }, async (t) => {
  const o = await freePortFlags(2);
  const parent = mkdtempSync(path.join(tmpdir(), "switchboard-cluster-"));
  chmodSync(parent, 0o755); // the postgres user must reach its directory
  const dataDir = path.join(parent, "data");
  const flags = ["--instances", "2", "--data-dir", dataDir, "--port", String(o.port), "--etcd-port", String(o.etcdPort), "--pg-port", String(o.pgPort), "--nats-port", String(o.natsPort)];
  const child = spawn(process.execPath, [script, ...flags], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout!.on("data", (d) => (out += String(d)));
  child.stderr!.on("data", (d) => (err += String(d)));
  const exited = new Promise<{ code: number | null; signal: string | null }>((r) => child.once("exit", (code, signal) => r({ code, signal })));
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      await exited;
    }
    for (const pid of processesMentioning(dataDir)) process.kill(pid, "SIGKILL");
    rmSync(parent, { recursive: true, force: true });
  });

  await eventually(() => out.includes("cluster up") || child.exitCode !== null, 180_000, "cluster up");
  assert.equal(child.exitCode, null, `exited early:\n${out}\n${err}`);
  // Each component's URL and health was printed.
  assert.match(out, new RegExp(`etcd\\s+http://127\\.0\\.0\\.1:${o.etcdPort}\\s+healthy`));
  assert.match(out, new RegExp(`postgres\\s+postgres://postgres@127\\.0\\.0\\.1:${o.pgPort}/switchboard\\s+healthy`));
  for (let i = 0; i < 3; i++) assert.match(out, new RegExp(`nats n${i + 1}\\s+nats://127\\.0\\.0\\.1:${o.natsPort + i}\\s+healthy`));
  for (let i = 0; i < 2; i++) assert.match(out, new RegExp(`switchboard ${i + 1}\\s+http://127\\.0\\.0\\.1:${o.port + i}\\s+serving, registered in etcd`));

  // The instances serve and are registered in the cluster's etcd.
  const etcd = `http://127.0.0.1:${o.etcdPort}`;
  const listed = new Set((await listInstances(etcd)).map((e) => e.address));
  for (let i = 0; i < 2; i++) {
    assert.equal(await checkHealth(`http://127.0.0.1:${o.port + i}`), "serving");
    assert.ok(listed.has(`127.0.0.1:${o.port + i}`), `instance ${i + 1} not in etcd: ${[...listed].join(", ")}`);
  }
  // Orders live in the shared PostgreSQL: one created on instance 1 is read on instance 2.
  const call = async (port: number, method: string, body: unknown) => {
    const res = await fetch(`http://127.0.0.1:${port}/order.v1.OrderService/${method}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };
  const id = `cluster-${process.pid}`;
  const added = await call(o.port, "AddOrder", { order: { id, items: ["lamp"], priceCents: "100", destination: "Oslo" } });
  assert.equal(added.status, 200, JSON.stringify(added.body));
  const read = await call(o.port + 1, "GetOrder", { id });
  assert.equal(read.status, 200, JSON.stringify(read.body));
  assert.deepEqual(read.body.order?.items, ["lamp"]);

  // Starting it twice: one clear line, no stack trace, exit code 1.
  const twice = spawn(process.execPath, [script, ...flags], { stdio: ["ignore", "pipe", "pipe"] });
  let twiceErr = "";
  twice.stderr!.on("data", (d) => (twiceErr += String(d)));
  const twiceCode = await new Promise<number | null>((r) => twice.once("exit", (c) => r(c)));
  assert.equal(twiceCode, 1);
  assert.match(twiceErr, /^cluster: a cluster is already running from .* \(pid \d+\)/);
  assert.doesNotMatch(twiceErr, /\n\s+at /);
  // Busy ports (another data dir, same ports): one clear line too.
  const busy = spawn(process.execPath, [script, ...flags.slice(0, 2), "--data-dir", path.join(parent, "other"), ...flags.slice(4)], { stdio: ["ignore", "pipe", "pipe"] });
  let busyErr = "";
  busy.stderr!.on("data", (d) => (busyErr += String(d)));
  assert.equal(await new Promise<number | null>((r) => busy.once("exit", (c) => r(c))), 1);
  assert.match(busyErr, new RegExp(`^cluster: ports already in use: ${o.port} \\(switchboard 1 \\(--port\\)\\)`));
  assert.doesNotMatch(busyErr, /\n\s+at /);

  // SIGTERM stops everything: exit 0, nothing left running, every port free again.
  child.kill("SIGTERM");
  const { code } = await exited;
  assert.equal(code, 0, `${out}\n${err}`);
  assert.match(out, /stopped\n$/);
  assert.deepEqual(processesMentioning(dataDir), []);
  assert.deepEqual(await busyPorts(clusterPorts(o)), []);
});
