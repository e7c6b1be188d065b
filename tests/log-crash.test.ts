// Crash safety: a child process appends as fast as it can and prints every
// acknowledged offset; it is killed with SIGKILL at a random moment; the
// reopened log must hold every acknowledged record with identical bytes,
// gapless, and continue at the right offset. Repeated, under every fsync
// policy (all of them hand acknowledged bytes to the OS, which survive kill -9).
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { test } from "node:test";
import { openCommitLog } from "@switchboard/server/log/log";
import { LogService } from "@switchboard/gen/log/v1/log_pb.js";
import { grpcClient } from "@switchboard/test-harness/clients";
import { startServerProcess } from "@switchboard/test-harness/server-process";
import { crashLogConfig, crashValue } from "./log-crash-producer.ts";

const producer = path.join(import.meta.dirname, "log-crash-producer.ts");

/** Runs the producer until it has acknowledged `killAfter` records, then SIGKILLs it. */
async function crashRound(dir: string, fsync: string, round: number, killAfter: number) {
  const child = spawn(process.execPath, [producer, dir, fsync, "32", String(round)], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once("exit", (_code, signal) => resolve(signal)));
  const acked = new Map<number, { p: number; seq: number }>();
  let start = -1;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`round ${round}: producer too slow; stderr: ${stderr}`)), 60_000);
    void exited.then(() => {
      clearTimeout(timer);
      resolve();
    });
    createInterface({ input: child.stdout }).on("line", (line) => {
      const [a, b, c] = line.split(" ");
      if (a === "ready") {
        start = Number(b);
        return;
      }
      acked.set(Number(a), { p: Number(b), seq: Number(c) });
      if (acked.size === killAfter) child.kill("SIGKILL");
    });
  });
  assert.equal(await exited, "SIGKILL", `round ${round}: the producer died on its own: ${stderr}`);
  return { acked, start };
}

test("kill -9 while producing: every acknowledged record survives, gapless, appends continue", async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "log-crash-"));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const policies = ["always", "interval", "never", "always", "always", "interval"];
  let expectedStart = 0;
  for (const [round, fsync] of policies.entries()) {
    const killAfter = 200 + Math.floor(Math.random() * 1500);
    const { acked, start } = await crashRound(dir, fsync, round, killAfter);
    assert.equal(start, expectedStart, `round ${round}: the log reopened at the offset after the previous round`);
    assert.ok(acked.size >= killAfter, `round ${round}: ${acked.size} acknowledged`);

    const log = await openCommitLog(dir, crashLogConfig);
    try {
      const maxAcked = Math.max(...acked.keys());
      assert.ok(log.nextOffset > maxAcked, `round ${round} (${fsync}): next offset ${log.nextOffset} after highest acked ${maxAcked}`);
      for (const [offset, { p, seq }] of acked) {
        assert.deepEqual(Buffer.from(await log.read(offset)), crashValue(p, seq), `round ${round}: offset ${offset}`);
      }
      // Every record of this round — acknowledged or not — is whole and
      // belongs to one producer's sequence, in offset order (gapless).
      let expect = start;
      for await (const r of log.reader(start)) {
        assert.equal(r.offset, expect++);
        const m = /^p(\d+) s(\d+) /.exec(Buffer.from(r.value.subarray(0, 24)).toString("latin1"));
        assert.ok(m, `round ${round}: offset ${r.offset} is one of ours`);
        assert.deepEqual(Buffer.from(r.value), crashValue(Number(m[1]), Number(m[2])));
      }
      assert.equal(expect, log.nextOffset);
      expectedStart = log.nextOffset;
    } finally {
      await log.close();
    }
  }
  // After the last crash the next append continues from the right offset.
  const log = await openCommitLog(dir, crashLogConfig);
  assert.equal(await log.append(Buffer.from("after the crashes")), expectedStart);
  assert.equal(log.lowestOffset, 0);
  await log.close();
});

test("kill -9 of the server: every record a ProduceStream acknowledged is served after restart", async (t) => {
  const args = ["--services", "log", "--no-request-log", "--log-max-segment-bytes", "65536"];
  const server = await startServerProcess({ args });
  t.after(() => server.cleanup());
  const client = grpcClient(LogService, server.url);
  const acked: bigint[] = [];
  const killAfter = 300 + Math.floor(Math.random() * 1000);
  const stream = (async () => {
    async function* requests() {
      for (let i = 0; ; i++) yield { record: { value: crashValue(1, i) } };
    }
    for await (const ack of client.produceStream(requests())) {
      acked.push(ack.offset);
      if (acked.length === killAfter) void server.stop("SIGKILL");
    }
  })();
  await assert.rejects(stream); // the connection dies with the server
  assert.equal((await server.exited).signal, "SIGKILL");
  const again = await startServerProcess({ args, dataDir: server.dataDir });
  t.after(() => again.cleanup());
  const reader = grpcClient(LogService, again.url);
  const offsets = await reader.getOffsets({});
  assert.ok(offsets.nextOffset >= BigInt(acked.length), `next ${offsets.nextOffset} ≥ ${acked.length} acknowledged`);
  let i = 0;
  for await (const m of reader.consumeStream({ offset: 0n, stopAtEnd: true })) {
    if (i < acked.length) assert.equal(m.record!.offset, acked[i]);
    assert.deepEqual(Buffer.from(m.record!.value), crashValue(1, i), `offset ${m.record!.offset}`);
    i++;
  }
  assert.ok(i >= acked.length);
  assert.equal((await reader.produce({ record: { value: Buffer.from("next") } })).offset, offsets.nextOffset);
});
