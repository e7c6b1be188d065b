// Secrets stay out of process listings (issue 13 §6): the server reads its
// token from --auth-token-file or $AUTH_TOKEN, the worker and the CLI from
// --token-file or $SWITCHBOARD_TOKEN; none of them shows it in its command
// line (/proc/PID/cmdline is what `ps` prints).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseServerArgs } from "@switchboard/server/config";
import { runCli } from "@switchboard/test-harness/cli";
import { startServerProcess, type ServerProcess } from "@switchboard/test-harness/server-process";
import { startWorkerProcess, type WorkerProcess } from "@switchboard/test-harness/worker-process";

const token = "s3cret-token-from-a-file";
const dir = mkdtempSync(path.join(tmpdir(), "switchboard-token-"));
const tokenFile = path.join(dir, "token");
writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
let server: ServerProcess;
const workers: WorkerProcess[] = [];

before(async () => {
  server = await startServerProcess({ args: ["--services", "node", "--no-request-log", "--auth-token-file", tokenFile] });
});
after(async () => {
  for (const w of workers) await w.cleanup();
  await server?.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

const cmdline = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");

test("server: --auth-token-file and $AUTH_TOKEN (trimmed); not in its command line", async () => {
  assert.ok(!cmdline(server.pid).includes(token));
  assert.equal((await parseServerArgs(["--auth-token-file", tokenFile], {})).authToken, token);
  assert.equal((await parseServerArgs([], { AUTH_TOKEN: token })).authToken, token);
  // The server really enforces the file's token.
  const denied = await runCli(["--server", server.url, "tasks", "submit", "echo", "x"]);
  assert.equal(denied.code, 1);
  assert.match(denied.stderr, /UNAUTHENTICATED/);
});

test("worker: --token-file and $SWITCHBOARD_TOKEN connect; the token is not in its command line", async () => {
  const byFile = startWorkerProcess({ serverUrl: server.url, id: "w-file", allow: ["echo"], labels: { via: "file" }, args: ["--token-file", tokenFile] });
  const byEnv = startWorkerProcess({ serverUrl: server.url, id: "w-env", allow: ["echo"], labels: { via: "env" }, env: { SWITCHBOARD_TOKEN: token } });
  workers.push(byFile, byEnv);
  await byFile.waitForEvent((e) => e.event === "connected");
  await byEnv.waitForEvent((e) => e.event === "connected");
  assert.ok(!cmdline(byFile.pid).includes(token));
  assert.ok(!cmdline(byEnv.pid).includes(token));
});

test("CLI: --token-file and $SWITCHBOARD_TOKEN authenticate; a bad --token-file is a usage error naming the file, not a secret", async () => {
  const S = ["--server", server.url];
  for (const via of ["file", "env"]) {
    const r = await runCli(
      [...S, "--json", ...(via === "file" ? ["--token-file", tokenFile] : []), "tasks", "submit", "--wait", "--timeout", "30s", "--label", `via=${via}`, "echo", via],
      { env: via === "env" ? { SWITCHBOARD_TOKEN: token } : {}, timeoutMs: 60_000 },
    );
    assert.equal(r.code, 0, r.stderr);
    const task = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as { state: string; workerId: string };
    assert.equal(task.state, "TASK_STATE_SUCCEEDED");
    assert.equal(task.workerId, `w-${via}`);
  }
  const missing = await runCli([...S, "--token-file", path.join(dir, "nope"), "tasks", "submit", "echo", "x"]);
  assert.equal(missing.code, 2, missing.stderr);
  assert.match(missing.stderr, /cannot read token file ".*nope": ENOENT/);
  const empty = path.join(dir, "empty");
  writeFileSync(empty, "\n");
  const r = await runCli([...S, "tasks", "submit", "--token-file", empty, "echo", "x"]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /token file ".*empty" is empty/);
});
