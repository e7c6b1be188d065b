import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { LineWriter } from "./line-writer.ts";

const turn = () => new Promise<void>((r) => setImmediate(r));

test("LineWriter: lines of one turn reach the file together at the end of that turn, in order", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "line-writer-"));
  const file = path.join(dir, "out.log");
  const fd = fs.openSync(file, "w");
  try {
    const w = new LineWriter(fd);
    for (let i = 0; i < 100; i++) assert.equal(w.write(`line ${i}\n`), true);
    assert.equal(fs.readFileSync(file, "utf8"), "", "nothing is written before the turn ends");
    await turn();
    const lines = fs.readFileSync(file, "utf8").split("\n");
    assert.equal(lines.length, 101);
    assert.deepEqual(lines.slice(0, 100), Array.from({ length: 100 }, (_, i) => `line ${i}`));

    w.write("ünïcödé ✓\n");
    w.flush();
    assert.match(fs.readFileSync(file, "utf8"), /ünïcödé ✓\n$/, "flush() writes at once, UTF-8");
    await turn();
    assert.equal(fs.readFileSync(file, "utf8").split("\n").length, 102, "the scheduled flush finds nothing left");
  } finally {
    fs.closeSync(fd);
    fs.rmSync(dir, { recursive: true, force: true });
  }
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
