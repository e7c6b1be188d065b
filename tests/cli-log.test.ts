// `switchboard log …` as subprocesses against a real server: produce from
// arguments and stdin, consume, offsets, tail, tail --follow fed by another
// process, deadline, Ctrl-C on a follow, and a follow that outlives server restarts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { jsonLines, runCli, spawnCli } from "@switchboard/test-harness/cli";
import { eventually } from "@switchboard/test-harness/eventually";
import { startServerProcess } from "@switchboard/test-harness/server-process";

interface RecordJson {
  value: string;
  offset: string;
}
const b64 = (text: string) => Buffer.from(text).toString("base64");

test("switchboard log", async (t) => {
  const server = await startServerProcess({ args: ["--no-request-log"] });
  t.after(() => server.cleanup());
  const S = ["--server", server.url];

  await t.test("offsets of the empty log; consume → OUT_OF_RANGE with the detail, exit 1", async () => {
    const offsets = await runCli(["log", "offsets", "--json", ...S]);
    assert.equal(offsets.code, 0, offsets.stderr);
    assert.deepEqual(jsonLines(offsets.stdout), [{ lowestOffset: "0", highestOffset: "0", nextOffset: "0", empty: true }]);
    const consume = await runCli(["log", "consume", "0", "--json", ...S]);
    assert.equal(consume.code, 1);
    const [err] = jsonLines<{ error: { code: string; offsetOutOfRange: { empty: boolean; nextOffset: string } } }>(consume.stderr);
    assert.equal(err?.error.code, "OUT_OF_RANGE");
    assert.deepEqual(err?.error.offsetOutOfRange.empty, true);
  });

  await t.test("produce VALUES… and produce from stdin (text lines and Record JSON lines), with the progress line", async () => {
    const args = await runCli(["log", "produce", "first", "second record", ...S]);
    assert.equal(args.code, 0, args.stderr);
    assert.match(args.stdout, /^produced 2 record\(s\), offsets 0\.\.1$/m);

    // Line 2 is a Record as `tail --json` prints it: its bytes are appended, not its text.
    const input = `plain text\n{"value":"${b64("\u0000binary\u00ff")}"}\n\n{"not":"a record"}\n`;
    const stdin = await runCli(["log", "produce", "--json", "--progress", ...S], { input });
    assert.equal(stdin.code, 0, stdin.stderr);
    assert.deepEqual(jsonLines(stdin.stdout), [{ offset: "2" }, { offset: "3" }, { offset: "4" }]);
    assert.match(stdin.stderr, /produced 3 record\(s\), last offset 4/);

    const text = await runCli(["log", "produce", "--text", ...S], { input: `{"value":"${b64("x")}"}\n` });
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /offsets 5\.\.5/);
  });

  await t.test("consume and offsets", async () => {
    const one = await runCli(["log", "consume", "1", ...S]);
    assert.equal(one.code, 0, one.stderr);
    assert.equal(one.stdout, "1\tsecond record\n");
    const bin = await runCli(["log", "consume", "3", "--json", ...S]);
    assert.deepEqual(jsonLines<RecordJson>(bin.stdout), [{ value: b64("\u0000binary\u00ff"), offset: "3" }]);
    const binHuman = await runCli(["log", "consume", "3", ...S]);
    assert.equal(binHuman.stdout, `3\tbase64:${b64("\u0000binary\u00ff")}\n`);
    const offsets = await runCli(["log", "offsets", ...S]);
    assert.match(offsets.stdout, /^records:\s+6$/m);
    assert.match(offsets.stdout, /^next offset:\s+6$/m);
    const past = await runCli(["log", "consume", "6", ...S]);
    assert.equal(past.code, 1);
    assert.match(past.stderr, /^error: OUT_OF_RANGE: /m);
  });

  await t.test("tail without --follow prints the log and ends; --last and --from pick the start", async () => {
    const all = await runCli(["log", "tail", "--json", ...S]);
    assert.equal(all.code, 0, all.stderr);
    const records = jsonLines<RecordJson>(all.stdout);
    assert.deepEqual(records.map((r) => r.offset), ["0", "1", "2", "3", "4", "5"]);
    assert.equal(Buffer.from(records[4]!.value, "base64").toString(), '{"not":"a record"}');
    const last = await runCli(["log", "tail", "--last", "2", ...S]);
    assert.equal(last.stdout, `4\t{"not":"a record"}\n5\t{"value":"${b64("x")}"}\n`);
    const from = await runCli(["log", "tail", "--from", "1", "--protocol", "connect", "--http-version", "1.1", ...S]);
    assert.equal(from.stdout.split("\n")[0], "1\tsecond record");
  });

  await t.test("tail --json | produce copies records byte for byte", async () => {
    const tail = await runCli(["log", "tail", "--from", "2", "--json", ...S]);
    const copy = await runCli(["log", "produce", "--json", "--protocol", "grpc-web", ...S], { input: tail.stdout });
    assert.equal(copy.code, 0, copy.stderr);
    assert.deepEqual(jsonLines(copy.stdout).map((a) => (a as { offset: string }).offset), ["6", "7", "8", "9"]);
    const copied = jsonLines<RecordJson>((await runCli(["log", "tail", "--from", "6", "--json", ...S])).stdout);
    const original = jsonLines<RecordJson>(tail.stdout);
    assert.deepEqual(copied.map((r) => r.value), original.map((r) => r.value));
  });

  await t.test("a Record JSON line with a bad value is a usage error (exit 2)", async () => {
    const r = await runCli(["log", "produce", ...S], { input: '{"value":"!!not base64!!"}\n' });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /stdin line 1: a Record JSON with an invalid value/);
  });

  await t.test("tail --follow receives a record produced by another process; Ctrl-C exits 130 at once", async (tt) => {
    const follow = spawnCli(["log", "tail", "--follow", "--last", "1", "--json", ...S]);
    tt.after(() => follow.kill("SIGKILL"));
    let stderr = "";
    follow.stderr!.on("data", (d) => (stderr += String(d)));
    const lines = createInterface({ input: follow.stdout! })[Symbol.asyncIterator]();
    // The last existing record arrives first: the stream is open.
    const first = JSON.parse(String((await lines.next()).value)) as RecordJson;
    assert.equal(first.offset, "9");

    const produced = await runCli(["log", "produce", "from another process", ...S]);
    assert.equal(produced.code, 0, produced.stderr);
    const next = JSON.parse(String((await lines.next()).value)) as RecordJson;
    assert.deepEqual(next, { value: b64("from another process"), offset: "10" });

    const exited = once(follow, "exit");
    follow.kill("SIGINT");
    const [code] = (await exited) as [number | null];
    assert.equal(code, 130, stderr);
    assert.match(stderr, /interrupted: the call was cancelled/);
  });

  await t.test("--timeout bounds a follow: DEADLINE_EXCEEDED, exit 1", async () => {
    const r = await runCli(["--timeout", "300ms", "log", "tail", "--follow", ...S]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^error: DEADLINE_EXCEEDED: /m);
    assert.equal(r.stdout.split("\n").filter(Boolean).length, 11, "the existing records came first");
  });
});

test("log tail --follow reconnects with back-off when the server restarts, resuming after the last record", async (t) => {
  const dataDir = mkdtempSync(path.join(tmpdir(), "switchboard-follow-"));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  let server = await startServerProcess({ args: ["--no-request-log"], dataDir });
  t.after(() => server.cleanup());
  const port = server.port;
  const S = ["--server", server.url];
  assert.equal((await runCli(["log", "produce", "r0", "r1", ...S])).code, 0);

  const tail = spawnCli(["log", "tail", "--follow", "--json", ...S]);
  t.after(() => tail.kill("SIGKILL"));
  let stderr = "";
  tail.stderr!.on("data", (d) => (stderr += String(d)));
  const lines = createInterface({ input: tail.stdout! })[Symbol.asyncIterator]();
  const nextRecord = async () => {
    const line = await Promise.race([
      lines.next(),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no record within 20 s; stderr: ${stderr}`)), 20_000).unref()),
    ]);
    return JSON.parse(String(line.value)) as RecordJson;
  };
  assert.deepEqual([(await nextRecord()).offset, (await nextRecord()).offset], ["0", "1"]);

  // A crash (SIGKILL) and a graceful stop (SIGTERM): the follow outlives both.
  for (const [i, signal] of (["SIGKILL", "SIGTERM"] as const).entries()) {
    await server.stop(signal);
    await eventually(() => /connection lost/.test(stderr), 15_000, `the follow noticed the ${signal}`);
    server = await startServerProcess({ args: ["--no-request-log"], dataDir, port });
    const produced = await runCli(["log", "produce", `after ${signal}`, ...S]);
    assert.equal(produced.code, 0, produced.stderr);
    // The next record, exactly once: nothing repeated from before the restart.
    assert.deepEqual(await nextRecord(), { value: b64(`after ${signal}`), offset: String(2 + i) });
    assert.equal(stderr.split("reconnected").length - 1, i + 1, stderr);
    stderr = stderr.replace(/connection lost/g, "connection-lost-seen");
  }
  assert.equal(tail.exitCode, null, "still following");
  const exited = once(tail, "exit");
  tail.kill("SIGINT");
  assert.equal(((await exited) as [number | null])[0], 130);
});
