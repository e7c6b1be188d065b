import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { LineWriter } from "./line-writer.ts";

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function withFile(fn: (fd: number, read: () => string) => Promise<void>) {
  return async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "line-writer-"));
    const file = path.join(dir, "out.log");
    const fd = fs.openSync(file, "w");
    try {
      await fn(fd, () => fs.readFileSync(file, "utf8"));
    } finally {
      fs.closeSync(fd);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  };
}

test(
  "LineWriter: lines wait at most maxDelayMs, then reach the file together and in order",
  withFile(async (fd, read) => {
    const w = new LineWriter({ fd, maxDelayMs: 30 });
    for (let i = 0; i < 100; i++) assert.equal(w.write(`line ${i}\n`), true);
    assert.equal(read(), "", "nothing is written at once");
    await sleep(5);
    assert.equal(read(), "", "nor before maxDelayMs");
    await sleep(60);
    const lines = read().split("\n");
    assert.equal(lines.length, 101);
    assert.deepEqual(lines.slice(0, 100), Array.from({ length: 100 }, (_, i) => `line ${i}`));

    w.write("ünïcödé ✓\n");
    w.flush();
    assert.match(read(), /ünïcödé ✓\n$/, "flush() writes at once, UTF-8");
    await sleep(60);
    assert.equal(read().split("\n").length, 102, "the timer of a flushed batch writes nothing twice");
  }),
);

test(
  "LineWriter: a full buffer is written at once, without waiting for the timer",
  withFile(async (fd, read) => {
    const w = new LineWriter({ fd, maxDelayMs: 10_000, maxBufferedChars: 100 });
    w.write("a".repeat(60) + "\n");
    assert.equal(read(), "");
    w.write("b".repeat(60) + "\n");
    assert.equal(read(), "a".repeat(60) + "\n" + "b".repeat(60) + "\n");
    w.write("tail\n");
    w.flush(); // also clears the 10 s timer, so the test ends at once
    assert.ok(read().endsWith("tail\n"));
  }),
);

test("LineWriter: a failed write (EPIPE: the reader went away) drops lines instead of throwing", () => {
  // A pipe whose read end is closed: write(2) fails with EPIPE (Node ignores SIGPIPE).
  const script = `
    import { LineWriter } from ${JSON.stringify(path.join(import.meta.dirname, "line-writer.ts"))};
    const w = new LineWriter({ fd: 1 });
    w.write("first\\n");
    w.flush();
    w.write("second\\n");
    w.flush();
    console.error("still running", w.error?.code);
  `;
  return new Promise<void>((resolve, reject) => {
    const child = execFile(process.execPath, ["--input-type=module", "-e", script], (err, _stdout, stderr) => {
      try {
        assert.equal(err, null, stderr);
        assert.match(stderr, /log lines are dropped from now on: writing to fd 1 failed: .*EPIPE/);
        assert.equal(stderr.match(/dropped from now on/g)?.length, 1, "reported once");
        assert.match(stderr, /still running EPIPE/);
        resolve();
      } catch (e) {
        reject(e);
      }
    });
    child.stdout!.destroy(); // close our read end before the child writes
  });
});

// A child process logs through the stdout writer into a pipe: 4 MiB (far more
// than a pipe holds, so writes are partial or see EAGAIN) and then exits at
// once; the parent receives every byte, and the lines written just before
// process.exit() are flushed by the exit hook.
test("LineWriter: stdout writer delivers everything through a pipe, including lines logged right before exit", async () => {
  const script = `
    import { stdoutLineWriter } from ${JSON.stringify(path.join(import.meta.dirname, "line-writer.ts"))};
    const w = stdoutLineWriter();
    const line = "x".repeat(1023) + "\\n";
    for (let i = 0; i < 4096; i++) w.write(line);
    setImmediate(() => { w.write("last\\n"); process.exit(0); });
  `;
  const { stdout } = await promisify(execFile)(process.execPath, ["--input-type=module", "-e", script], {
    maxBuffer: 64 << 20,
  });
  assert.equal(stdout.length, 4096 * 1024 + 5);
  assert.ok(stdout.endsWith("x\nlast\n"));
});
