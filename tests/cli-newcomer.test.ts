// Where a new user trips over the CLI and the worker: options after PROGRAM,
// a task no worker matches, a worker with a wrong token, --etcd with nothing
// registered, and progress lines on a terminal (and only there).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { cliMain, jsonLines, runCli } from "@switchboard/test-harness/cli";
import { startEtcd } from "@switchboard/test-harness/etcd";
import { startServerProcess } from "@switchboard/test-harness/server-process";
import { startWorkerProcess } from "@switchboard/test-harness/worker-process";
import { requireProgram } from "@switchboard/test-harness/tools";

const token = "newcomer-token";

/**
 * Runs the CLI with stdout and stderr on a pseudo-terminal (util-linux
 * `script`), stdin from `inputFile`; resolves with what the terminal showed.
 */
function runOnTerminal(args: string[], inputFile = "/dev/null"): Promise<{ code: number; screen: string }> {
  const script = requireProgram("script", "util-linux, for a pseudo-terminal");
  const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
  const command = [process.execPath, cliMain, ...args].map(quote).join(" ") + ` < ${quote(inputFile)}`;
  return new Promise((resolve) => {
    execFile(script, ["-q", "-e", "-c", command, "/dev/null"], { timeout: 60_000, env: { ...process.env, SWITCHBOARD_SERVER: "", SWITCHBOARD_TOKEN: "" } }, (err, stdout) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, screen: stdout }),
    );
  });
}

test("CLI and worker messages where newcomers trip", async (t) => {
  const server = await startServerProcess({ args: ["--no-request-log", "--auth-token", token] });
  t.after(() => server.cleanup());
  const S = ["--server", server.url, "--token", token];
  const worker = startWorkerProcess({ serverUrl: server.url, id: "nc-w1", allow: ["echo"], labels: { zone: "a" }, token });
  t.after(() => worker.cleanup());
  await worker.waitForEvent((e) => e.event === "connected");

  await t.test("tasks submit refuses the CLI's own options after PROGRAM, showing both correct forms", async () => {
    const r = await runCli(["tasks", "submit", "echo", "hi", "--server", server.url, "--token", token]);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /^error: --server, --token after PROGRAM \(echo\) would be passed to echo, not used by switchboard\./);
    assert.ok(r.stderr.includes(`switchboard tasks submit --server ${server.url} --token ${token} echo hi\n`), r.stderr);
    assert.ok(r.stderr.includes(`switchboard tasks submit -- echo hi --server ${server.url} --token ${token}`), r.stderr);
    // Nothing was submitted (to any server).
    const list = await runCli(["tasks", "list", "--json", "--server", server.url]);
    assert.deepEqual(jsonLines(list.stdout), []);
    // With -- the arguments are the program's own: accepted and passed on.
    const ok = await runCli([...S, "tasks", "submit", "--wait", "--label", "zone=a", "--", "echo", "--server", "x"]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, "--server x\n");
  });

  await t.test("a task no connected worker matches: queued, the CLI says so at once, tasks get says why", async () => {
    const r = await runCli([...S, "tasks", "submit", "--label", "zone=eu", "--label", "gpu=yes", "echo", "x"]);
    assert.equal(r.code, 0, r.stderr);
    const id = /^submitted task (\S+)$/m.exec(r.stdout)?.[1];
    assert.ok(id, r.stdout);
    assert.match(
      r.stderr,
      /^warning: no connected worker currently has the labels gpu=yes,zone=eu; connected workers: nc-w1 \(zone=a\)\. The task stays queued until a matching worker connects/m,
    );
    const get = await runCli(["--server", server.url, "tasks", "get", id]);
    assert.match(get.stdout, /^state:\s+QUEUED$/m);
    assert.match(get.stdout, /^waiting:\s+no connected worker has the labels gpu=yes,zone=eu; connected workers: nc-w1 \(zone=a\)$/m);
    // A task the worker matches gets no warning.
    const fine = await runCli([...S, "tasks", "submit", "--json", "--label", "zone=a", "echo", "y"]);
    assert.equal(fine.code, 0);
    assert.equal(fine.stderr, "");
    const cancel = await runCli([...S, "tasks", "cancel", id]);
    assert.equal(cancel.code, 0, cancel.stderr);
  });

  await t.test("a worker with a wrong or missing token exits 1 naming the token options; an unreachable master is retried", async () => {
    for (const args of [["--token", "wrong"], []]) {
      const r = await runCli(["worker", "--server", server.url, "--id", "nc-bad", "--allow", "echo", ...args], { timeoutMs: 30_000 });
      assert.equal(r.code, 1, r.stderr);
      const fatal = jsonLines<{ event: string; code?: string }>(r.stderr.split("\n").filter((l) => l.startsWith("{")).join("\n"));
      assert.deepEqual(fatal.filter((e) => e.event === "disconnected"), [], "no retry after UNAUTHENTICATED");
      assert.ok(fatal.some((e) => e.event === "fatal" && e.code === "Unauthenticated"), r.stderr);
      assert.match(r.stderr, /^error: UNAUTHENTICATED: the master refused the worker \(.*\): .*--token TOKEN, --token-file FILE or \$SWITCHBOARD_TOKEN$/m);
      assert.ok(!r.stderr.includes(token));
    }
    const unreachable = startWorkerProcess({ serverUrl: "http://127.0.0.1:1", id: "nc-retry", allow: ["echo"] });
    t.after(() => unreachable.cleanup());
    await unreachable.waitForEvent((e) => e.event === "disconnected" && e.retryInMs !== undefined);
    await unreachable.waitForEvent((e) => e.event === "disconnected" && unreachable.events.filter((x) => x.event === "disconnected").length >= 2);
    assert.equal(unreachable.child.exitCode, null, "still retrying UNAVAILABLE");
    assert.equal((await unreachable.stop()).code, 0);
  });

  await t.test("progress: log produce and tasks submit --wait on a terminal; nothing when piped or with --json", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "sb-progress-"));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const input = path.join(dir, "records.txt");
    await writeFile(input, Array.from({ length: 20_000 }, (_, i) => `record ${i}`).join("\n") + "\n");
    const tty = await runOnTerminal(["--server", server.url, "log", "produce"], input);
    assert.equal(tty.code, 0, tty.screen);
    assert.match(tty.screen, /\r\x1b\[Kproduced 20000 record\(s\), last offset \d+/);
    assert.match(tty.screen, /produced 20000 record\(s\), offsets \d+\.\.\d+/);
    const json = await runOnTerminal(["--server", server.url, "log", "produce", "--json"], input);
    assert.equal(json.code, 0);
    assert.doesNotMatch(json.screen, /last offset|\x1b\[K/);
    const piped = await runCli(["--server", server.url, "log", "produce"], { input: "a\nb\n" });
    assert.equal(piped.code, 0);
    assert.equal(piped.stderr, "");

    const wait = await runOnTerminal([...S, "tasks", "submit", "--wait", "--label", "zone=a", "echo", "done"]);
    assert.equal(wait.code, 0, wait.screen);
    assert.match(wait.screen, /\r\x1b\[Ktask \S+: (queued|assigned|running)[^\r]*, \d+s/);
    // The line is cleared before the task's output and the final note.
    assert.match(wait.screen, /\r\x1b\[Kdone\r?\n/);
    assert.match(wait.screen, /task \S+ SUCCEEDED \(exit 0/);
    const waitPiped = await runCli([...S, "tasks", "submit", "--wait", "--label", "zone=a", "echo", "quiet"]);
    assert.equal(waitPiped.code, 0);
    assert.doesNotMatch(waitPiped.stderr, /\x1b\[K|, \d+s$/m);
  });
});

test("--etcd with no instance registered says so at once, naming the prefix and etcd; exit 1", async (t) => {
  const etcd = await startEtcd();
  t.after(() => etcd.cleanup());
  const started = Date.now();
  const r = await runCli(["--etcd", etcd.endpoint, "--etcd-prefix", "empty/services", "orders", "get", "102"]);
  const tookMs = Date.now() - started;
  assert.equal(r.code, 1, r.stderr);
  assert.equal(
    r.stderr,
    `error: UNAVAILABLE: no instance of order.v1.OrderService is registered in etcd under the prefix ` +
      `empty/services/order.v1.OrderService/ (etcd ${etcd.endpoint}); start a server with --etcd ${etcd.endpoint}, ` +
      `or check --etcd / --etcd-prefix\n`,
  );
  // "At once": well under the 5 s the library waits for an instance, and the 30 s call deadline.
  assert.ok(tookMs < 4_500, `took ${tookMs} ms`);
  const health = await runCli(["--etcd", etcd.endpoint, "health"]);
  assert.equal(health.code, 1);
  assert.match(health.stderr, /no instance is registered in etcd under the prefix switchboard\/services\/ \(etcd /);
  const services = await runCli(["--etcd", etcd.endpoint, "services"]);
  assert.equal(services.code, 0);
  assert.equal(services.stderr, `no instances registered in etcd under switchboard/services/ (etcd ${etcd.endpoint})\n`);
});
