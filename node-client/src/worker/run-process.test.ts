// runProcess with real programs: exit codes, output caps, the time limit and
// aborts killing the whole process group.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { runProcess, type RunSpec } from "./run-process.ts";

const dir = mkdtempSync(path.join(tmpdir(), "run-process-test-"));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const spec = (file: string, args: string[], over: Partial<RunSpec> = {}): RunSpec => ({
  file,
  args,
  cwd: dir,
  env: { PATH: "/usr/bin:/bin" },
  timeoutMs: 20_000,
  killGraceMs: 300,
  maxOutputBytes: 1024,
  signal: new AbortController().signal,
  ...over,
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return !stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
  } catch {
    return false;
  }
}

test("exit codes, arguments passed as they are (no shell), output and the empty environment", async () => {
  const table: Array<{ name: string; s: RunSpec; exitCode: number; stdout?: string; stderr?: string }> = [
    { name: "echo", s: spec("/bin/echo", ["a b", "$HOME", "`id`;"]), exitCode: 0, stdout: "a b $HOME `id`;\n" },
    { name: "exit 3", s: spec("/bin/sh", ["-c", "echo oops >&2; exit 3"]), exitCode: 3, stderr: "oops\n" },
    { name: "env", s: spec("/usr/bin/env", []), exitCode: 0, stdout: "PATH=/usr/bin:/bin\n" },
    { name: "cwd", s: spec("/bin/pwd", []), exitCode: 0, stdout: `${dir}\n` },
  ];
  for (const c of table) {
    const out = await runProcess(c.s);
    assert.equal(out.exitCode, c.exitCode, c.name);
    assert.equal(out.signal, "", c.name);
    if (c.stdout !== undefined) assert.equal(out.stdout, c.stdout, c.name);
    if (c.stderr !== undefined) assert.equal(out.stderr, c.stderr, c.name);
  }
});

test("output beyond the cap is dropped and flagged", async () => {
  const out = await runProcess(spec("/bin/sh", ["-c", "head -c 5000 /dev/zero | tr '\\0' x"], { maxOutputBytes: 100 }));
  assert.equal(out.exitCode, 0);
  assert.equal(out.stdout, "x".repeat(100));
  assert.equal(out.stdoutTruncated, true);
  assert.equal(out.stderrTruncated, false);
});

test("the time limit kills the process group, grandchildren included (SIGKILL after the grace)", async () => {
  const pidFile = path.join(dir, "grandchild.pid");
  // The child ignores SIGTERM, so only the SIGKILL after the grace ends it.
  const out = await runProcess(
    spec("/bin/sh", ["-c", `trap '' TERM; sleep 30 & echo $! > ${pidFile}; while :; do sleep 0.05; done`], { timeoutMs: 500 }),
  );
  assert.equal(out.timedOut, true);
  assert.equal(out.exitCode, -1);
  assert.equal(out.signal, "SIGKILL");
  const grandchild = Number(readFileSync(pidFile, "utf8"));
  for (let i = 0; i < 100 && alive(grandchild); i++) await new Promise((r) => setTimeout(r, 50));
  assert.equal(alive(grandchild), false, "the background sleep died with the group");
});

test("an abort stops the process and reports the reason; a missing file is a spawn error", async () => {
  const ac = new AbortController();
  const running = runProcess(spec("/bin/sleep", ["30"], { signal: ac.signal }));
  setTimeout(() => ac.abort("cancel"), 100);
  const out = await running;
  assert.equal(out.stopped, "cancel");
  assert.equal(out.signal, "SIGTERM");
  assert.equal(out.timedOut, false);

  const missing = await runProcess(spec(path.join(dir, "missing"), []));
  assert.equal(missing.spawnError, "ENOENT");
  assert.equal(missing.exitCode, -1);
});
