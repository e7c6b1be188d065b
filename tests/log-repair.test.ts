// A damaged log tail (garbage appended to the newest segment — not a torn
// write) keeps the server from starting, with a one-line message naming the
// repair command; `--repair-log` cuts the segment at its last valid record,
// moves the cut bytes to a quarantine file and every earlier record stays
// readable at its offset (issue 13 §5).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import { LogService } from "@switchboard/gen/log/v1/log_pb.js";
import { grpcClient } from "@switchboard/test-harness/clients";
import { repoRoot, startServerProcess } from "@switchboard/test-harness/server-process";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array | undefined) => new TextDecoder().decode(b);

/** Runs server/src/main.ts with `args` to its exit (bounded: 30 s). */
function runMain(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [path.join(repoRoot, "server/src/main.ts"), "--host", "127.0.0.1", "--port", "0", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += String(d)));
  child.stderr.on("data", (d) => (stderr += String(d)));
  const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
  return new Promise((resolve) =>
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
}

test("garbage after the newest segment's records: refuse with a one-line hint; --repair-log quarantines it; earlier records kept", async (t) => {
  const args = ["--services", "log", "--no-request-log"];
  const first = await startServerProcess({ args });
  t.after(() => first.cleanup());
  const client = grpcClient(LogService, first.url);
  for (let i = 0; i < 5; i++) await client.produce({ record: { value: enc(`record ${i}`) } });
  await first.stop("SIGKILL"); // fsync always: acknowledged records are on disk
  const dataDir = first.dataDir;
  const logDir = path.join(dataDir, "log");
  const store = path.join(logDir, "00000000000000000000.store");
  const garbage = Buffer.from("GARBAGE that is not a record, appended by someone ".repeat(20));
  fs.appendFileSync(store, garbage);

  const refused = await runMain([...args, "--data-dir", dataDir]);
  assert.equal(refused.code, 1);
  const lines = refused.stderr.trim().split("\n");
  assert.equal(lines.length, 1, `one line, got:\n${refused.stderr}`);
  assert.match(lines[0]!, /corrupt record at offset 5 in segment log\/00000000000000000000\.store .*not a torn write.*npm start -- --repair-log --data-dir /);

  const repaired = await runMain([...args, "--data-dir", dataDir, "--repair-log"]);
  assert.equal(repaired.code, 0, repaired.stderr);
  assert.match(repaired.stdout, new RegExp(`moved ${garbage.length} bytes \\(1 record .*from offset 5.*log/00000000000000000000\\.store to log/00000000000000000000\\.store\\.quarantine-`));
  const quarantined = fs.readdirSync(logDir).filter((f) => f.includes(".quarantine-"));
  assert.equal(quarantined.length, 1);
  assert.deepEqual(fs.readFileSync(path.join(logDir, quarantined[0]!)), garbage, "the cut bytes are kept, unchanged");

  const again = await startServerProcess({ args, dataDir });
  t.after(() => again.cleanup());
  const reader = grpcClient(LogService, again.url);
  for (let i = 0; i < 5; i++) assert.equal(dec((await reader.consume({ offset: BigInt(i) })).record?.value), `record ${i}`);
  assert.equal((await reader.getOffsets({})).nextOffset, 5n);
  await assert.rejects(reader.consume({ offset: 5n }), (e) => ConnectError.from(e).code === Code.OutOfRange);
  assert.equal((await reader.produce({ record: { value: enc("after repair") } })).offset, 5n);
  await again.stop();

  const nothing = await runMain([...args, "--data-dir", dataDir, "--repair-log"]);
  assert.equal(nothing.code, 0, nothing.stderr);
  assert.match(nothing.stdout, /nothing to repair/);
});
