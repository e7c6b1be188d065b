// `switchboard tasks|nodes|health|services` as subprocesses against a real
// server (with an auth token) and a real `switchboard worker` process.
import { test } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { jsonLines, runCli, spawnCli } from "@switchboard/test-harness/cli";
import { startServerProcess } from "@switchboard/test-harness/server-process";
import { startWorkerProcess } from "@switchboard/test-harness/worker-process";

interface TaskJson {
  id: string;
  state: string;
  workerId: string;
  command: { program: string; args: string[] };
  labels: Record<string, string>;
  timeout?: string;
  reason: string;
  result?: { exitCode: number; stdout: string };
}

const token = "cli-test-token";

test("switchboard tasks, nodes, health, services", async (t) => {
  const server = await startServerProcess({ args: ["--no-request-log", "--auth-token", token] });
  t.after(() => server.cleanup());
  const S = ["--server", server.url];
  const worker = startWorkerProcess({ serverUrl: server.url, id: "cli-w1", allow: ["echo", "sleep"], labels: { zone: "test" }, token });
  t.after(() => worker.cleanup());
  await worker.waitForEvent((e) => e.event === "connected");

  await t.test("nodes list shows the worker", async () => {
    const json = await runCli(["nodes", "list", "--json", ...S]);
    assert.equal(json.code, 0, json.stderr);
    const [node] = jsonLines<{ id: string; status: string; labels: Record<string, string>; capacity: number }>(json.stdout);
    assert.deepEqual([node?.id, node?.status, node?.labels, node?.capacity], ["cli-w1", "NODE_STATUS_ONLINE", { zone: "test" }, 1]);
    const human = await runCli(["nodes", "list", ...S]);
    assert.match(human.stdout, /^cli-w1\s+ONLINE\s+0\/1\s/m);
  });

  await t.test("submit without the token → UNAUTHENTICATED, exit 1; SWITCHBOARD_TOKEN works", async () => {
    const r = await runCli([...S, "tasks", "submit", "echo", "x"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^error: UNAUTHENTICATED: /m);
    assert.ok(!r.stderr.includes(token));
    const ok = await runCli([...S, "tasks", "submit", "--label", "zone=test", "echo", "x"], { env: { SWITCHBOARD_TOKEN: token } });
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /^submitted task \S+$/m);
  });

  await t.test("submit --wait prints the program's output; options after -- PROGRAM go to the program", async () => {
    const r = await runCli([...S, "--token", token, "tasks", "submit", "--wait", "--timeout", "20s", "--", "echo", "hello", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    // `--json` came after -- PROGRAM: it is echo's argument (without `--` it is refused, tests/cli-newcomer.test.ts).
    assert.equal(r.stdout, "hello --json\n");
    assert.match(r.stderr, /task \S+ SUCCEEDED \(exit 0, /);
  });

  let taskId = "";
  await t.test("submit --json, get, list, watch ID", async () => {
    const sub = await runCli([...S, "--token", token, "--json", "tasks", "submit", "--label", "zone=test", "--timeout", "90s", "echo", "a b"]);
    assert.equal(sub.code, 0, sub.stderr);
    taskId = jsonLines<{ taskId: string }>(sub.stdout)[0]!.taskId;
    assert.ok(taskId);

    // Watching one task ends once it is final.
    const watch = await runCli(["tasks", "watch", taskId, "--initial", "--json", ...S]);
    assert.equal(watch.code, 0, watch.stderr);
    const states = jsonLines<TaskJson>(watch.stdout).map((x) => x.state);
    assert.equal(states.at(-1), "TASK_STATE_SUCCEEDED");

    const get = await runCli(["tasks", "get", taskId, "--json", ...S]);
    const [task] = jsonLines<TaskJson>(get.stdout);
    assert.deepEqual(task?.command, { program: "echo", args: ["a b"] });
    assert.deepEqual([task?.labels, task?.timeout, task?.workerId], [{ zone: "test" }, "90s", "cli-w1"]);
    assert.deepEqual([task?.result?.exitCode, task?.result?.stdout], [0, "a b\n"]);
    const human = await runCli(["tasks", "get", taskId, ...S]);
    assert.match(human.stdout, /^state:\s+SUCCEEDED$/m);
    assert.match(human.stdout, /^command:\s+echo "a b"$/m);

    const list = await runCli(["tasks", "list", "--state", "succeeded", "--json", ...S]);
    const listed = jsonLines<TaskJson>(list.stdout);
    assert.ok(listed.some((x) => x.id === taskId));
    assert.ok(listed.every((x) => x.state === "TASK_STATE_SUCCEEDED"));
    const page = await runCli(["tasks", "list", "--limit", "1", ...S]);
    assert.equal(page.stdout.trim().split("\n").length, 2, "header + one task");
    assert.match(page.stderr, /more tasks: --page-token \S+/);
  });

  await t.test("a task the worker may not run FAILED: --wait exits 3; get of an unknown task → NOT_FOUND", async () => {
    // The server comes from the environment: every word after PROGRAM is rm's.
    const r = await runCli(["--token", token, "tasks", "submit", "--wait", "rm", "-rf", "/nonexistent"], {
      env: { SWITCHBOARD_SERVER: server.url },
    });
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /FAILED .*program not allowed: rm/);
    const unknown = await runCli(["tasks", "get", "no-such-task", ...S]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /^error: NOT_FOUND: /m);
  });

  await t.test("cancel a running task; watch ID then exits 3", async () => {
    const sub = await runCli([...S, "--token", token, "--json", "tasks", "submit", "sleep", "30"]);
    assert.equal(sub.code, 0, sub.stderr);
    const id = jsonLines<{ taskId: string }>(sub.stdout)[0]!.taskId;
    await worker.waitForEvent((e) => e.event === "task-started" && e.taskId === id);
    const cancel = await runCli(["tasks", "cancel", id, "--reason", "cli test", "--token", token, "--json", ...S]);
    assert.equal(cancel.code, 0, cancel.stderr);
    const [task] = jsonLines<TaskJson>(cancel.stdout);
    assert.deepEqual([task?.state, task?.reason], ["TASK_STATE_CANCELLED", "cli test"]);
    const watch = await runCli(["tasks", "watch", id, "--initial", ...S]);
    assert.equal(watch.code, 3);
    assert.match(watch.stdout, /CANCELLED/);
    const again = await runCli(["tasks", "cancel", id, "--token", token, ...S]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /^error: FAILED_PRECONDITION: /m);
  });

  await t.test("health: SERVING exits 0; unknown service → NOT_FOUND, exit 1", async () => {
    const all = await runCli(["health", ...S]);
    assert.deepEqual([all.code, all.stdout], [0, "(server): SERVING\n"]);
    const log = await runCli(["health", "log", "--json", ...S]);
    assert.deepEqual(jsonLines(log.stdout), [{ service: "log.v1.LogService", status: "SERVING" }]);
    const unknown = await runCli(["health", "nope.v1.Nope", ...S]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /^error: NOT_FOUND: /m);
  });

  await t.test("health --watch streams the status until Ctrl-C (exit 130)", async (tt) => {
    const watch = spawnCli(["health", "order", "--watch", "--json", ...S]);
    tt.after(() => watch.kill("SIGKILL"));
    const lines = createInterface({ input: watch.stdout! })[Symbol.asyncIterator]();
    assert.deepEqual(JSON.parse(String((await lines.next()).value)), { service: "order.v1.OrderService", status: "SERVING" });
    const exited = once(watch, "exit");
    watch.kill("SIGINT");
    assert.equal(((await exited) as [number | null])[0], 130);
  });

  await t.test("services without --etcd: says discovery is off, lists what the server reports", async () => {
    const r = await runCli(["services", "--json", "--protocol", "connect", ...S]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /service discovery is off \(no --etcd\)/);
    const rows = jsonLines<{ service: string; status: string | null }>(r.stdout);
    const byName = Object.fromEntries(rows.map((x) => [x.service, x.status]));
    for (const s of ["order.v1.OrderService", "log.v1.LogService", "node.v1.NodeService"]) assert.equal(byName[s], "SERVING", s);
    assert.ok("grpc.reflection.v1.ServerReflection" in byName);
  });
});
