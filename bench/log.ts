// Benchmark of the commit log (LogService) — not a test. In one run:
//  - raw: framed records appended to a file with plain fs.writeSync, one write per record
//  - group commit under fsync=always: 1 producer (= one fsync per record) vs 64
//    concurrent producers, in 3 alternating rounds (medians in the summary), for
//    the engine alone (openCommitLog in this process), lockstep ProduceStreams
//    (each sends its next record after its ack) and unary Produce (driven by h2load)
//  - the real server (node server/src/main.ts) under each --log-fsync policy:
//    Produce (64 concurrent callers) and ProduceStream, 100-byte and 4-KiB records
//  - ConsumeStream from offset 0 over 1,000,000 records
//  - the reference: a @grpc/grpc-js server (bench/peers/grpc-log-server.ts)
//    streaming the same messages from memory, measured with the same client; and,
//    to show the floor under ProduceStream, stock connect-node acking from
//    memory (bench/peers/connect-log-server.ts)
// The RPC client is a minimal HTTP/2 gRPC client (grpc-h2-client.ts) that
// sends pre-encoded requests and only counts responses, so the servers are
// the bottleneck (unary group-commit rows use h2load, see produceUnaryH2load);
// the server's CPU time per record (from /proc) is printed too.
// The server runs on core 1, this process (the client) on core 0.
//
//   node bench/log.ts [--seconds 3] [--records 1000000] [--quick]   (≈ 5 min; --quick ≈ 1.5 min)
import { spawn, execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { toBinary, create } from "@bufbuild/protobuf";
import { ConsumeStreamRequestSchema, ProduceRequestSchema, ProduceStreamRequestSchema } from "@switchboard/gen/log/v1/log_pb.js";
import { envelope, grpcStreamCall, grpcStreamLockstep, grpcUnaryLoops } from "./grpc-h2-client.ts";
import { median } from "./median.ts";
import { encodeFrame, frameHeaderBytes } from "@switchboard/server/log/store";
import { openCommitLog } from "@switchboard/server/log/log";
import { startServerProcess, type ServerProcess } from "@switchboard/test-harness/server-process";

const { values: flags } = parseArgs({
  options: {
    seconds: { type: "string", default: "3" },
    records: { type: "string", default: "1000000" },
    quick: { type: "boolean", default: false },
  },
});
const seconds = flags.quick ? 1 : Number(flags.seconds);
const consumeRecords = flags.quick ? 100_000 : Number(flags.records);
const sizes = [100, 4096];
/** Alternating 1-vs-64-producer rounds of the group-commit comparison. */
const groupRounds = flags.quick ? 1 : 3;
const pinned = os.availableParallelism() >= 2;
/** Node flags of `npm run serve` (package.json), given to both servers alike. */
const serverNodeOptions = "--max-semi-space-size=8";

function pin(pid: number, core: number) {
  if (!pinned) return;
  try {
    execFileSync("taskset", ["-a", "-cp", String(core), String(pid)], { stdio: "ignore" });
  } catch {
    // taskset missing: run unpinned
  }
}

interface Row {
  name: string;
  records: number;
  seconds: number;
  valueBytes: number;
  /** Server process CPU seconds (user + system, all threads) during the run. */
  serverCpu?: number;
  note?: string;
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux). */
function cpuSeconds(pid: number): number {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return NaN;
  }
}

/** Runs `fn` and adds the server's CPU time to its result. */
async function measured<T extends { records: number; seconds: number }>(pid: number, fn: () => Promise<T>): Promise<T & { serverCpu: number }> {
  const before = cpuSeconds(pid);
  const result = await fn();
  return { ...result, serverCpu: cpuSeconds(pid) - before };
}
const rows: Row[] = [];
const rawRates = new Map<number, number>();

function report(row: Row) {
  rows.push(row);
  const rate = row.records / row.seconds;
  const mb = (rate * row.valueBytes) / 1e6;
  const raw = rawRates.get(row.valueBytes);
  console.log(
    `${row.name.padEnd(58)} ${Math.round(rate).toString().padStart(9)} rec/s ${mb.toFixed(1).padStart(7)} MB/s` +
      (raw ? `  ×raw ${(rate / raw).toFixed(3)}` : "") +
      (row.serverCpu !== undefined ? `  server CPU ${((row.serverCpu / row.records) * 1e6).toFixed(1)} µs/rec` : "") +
      (row.note ? `  ${row.note}` : ""),
  );
}

/**
 * One group-commit round: `run(1)` (one fsync per record) then `run(64)`,
 * reported as "<kind> fsync=always, 1|64 producers, <size> B (round N)".
 */
async function groupCommitRound(kind: string, size: number, round: number, run: (producers: number) => Promise<Omit<Row, "name" | "valueBytes">>) {
  const one = await run(1);
  report({ name: `${kind} fsync=always, 1 producer, ${size} B (round ${round})`, ...one, valueBytes: size });
  const many = await run(64);
  report({
    name: `${kind} fsync=always, 64 producers, ${size} B (round ${round})`,
    ...many,
    valueBytes: size,
    note: `= ${(many.records / many.seconds / (one.records / one.seconds)).toFixed(1)}× one fsync per record`,
  });
}

/** Plain fs: one writeSync per framed record, no fsync. */
function rawAppend(valueBytes: number, dir: string) {
  const file = path.join(dir, `raw-${valueBytes}.store`);
  const fd = fs.openSync(file, "w");
  const value = Buffer.alloc(valueBytes, 0x61);
  const end = performance.now() + seconds * 1000;
  const start = performance.now();
  let n = 0;
  while (performance.now() < end) {
    for (let i = 0; i < 1000; i++) {
      const frame = Buffer.allocUnsafe(frameHeaderBytes + valueBytes);
      encodeFrame(value, frame, 0);
      fs.writeSync(fd, frame);
    }
    n += 1000;
  }
  const elapsed = (performance.now() - start) / 1000;
  fs.closeSync(fd);
  fs.rmSync(file);
  rawRates.set(valueBytes, n / elapsed);
  report({ name: `raw fs.writeSync framed records, ${valueBytes} B`, records: n, seconds: elapsed, valueBytes });
}

/** The engine alone, in this process: `appenders` concurrent append loops. */
async function engineAppend(dir: string, fsync: "always" | "interval" | "never", valueBytes: number, appenders: number) {
  const log = await openCommitLog(path.join(dir, `engine-${fsync}-${valueBytes}-${appenders}`), { fsync });
  const value = Buffer.alloc(valueBytes, 0x64);
  const end = performance.now() + seconds * 1000;
  const start = performance.now();
  let n = 0;
  await Promise.all(
    Array.from({ length: appenders }, async () => {
      while (performance.now() < end) {
        await log.append(value);
        n++;
      }
    }),
  );
  const elapsed = (performance.now() - start) / 1000;
  await log.close();
  return { records: n, seconds: elapsed };
}

async function startSwitchboard(fsync: string, dataDir?: string): Promise<ServerProcess> {
  const server = await startServerProcess({
    args: ["--services", "log", "--no-request-log", "--log-level", "info", "--log-fsync", fsync],
    ...(dataDir !== undefined && { dataDir }),
    env: { NODE_OPTIONS: serverNodeOptions },
  });
  pin(server.pid, 1);
  return server;
}

async function startPeer(count: number, valueBytes: number, script = "grpc-log-server.ts"): Promise<{ url: string; pid: number; stop(): void }> {
  const child = spawn(process.execPath, [path.join(import.meta.dirname, "peers", script), String(count), String(valueBytes)], {
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, NODE_OPTIONS: serverNodeOptions },
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`${script} exited (${code})`)));
    createInterface({ input: child.stdout! }).on("line", (line) => {
      const m = /^port (\d+)$/.exec(line);
      if (m) resolve(Number(m[1]));
    });
  });
  pin(child.pid!, 1);
  return { url: `http://127.0.0.1:${port}`, pid: child.pid!, stop: () => child.kill("SIGKILL") };
}

/** `callers` concurrent unary Produce loops (raw HTTP/2 client) for `secs`. */
function produceUnary(url: string, valueBytes: number, callers: number, secs = seconds) {
  const req = envelope(toBinary(ProduceRequestSchema, create(ProduceRequestSchema, { record: { value: Buffer.alloc(valueBytes, 0x62) } })));
  return grpcUnaryLoops(url, "/log.v1.LogService/Produce", req, callers, secs);
}

/**
 * `callers` concurrent unary Produce calls on one HTTP/2 connection, driven by
 * h2load (nghttp2, C) rather than the Node client: for unary calls the Node
 * client costs as much CPU per call as the server (≈ 100 µs), so it would
 * measure itself. Needs h2load (apt-get install nghttp2-client).
 */
async function produceUnaryH2load(url: string, valueBytes: number, callers: number) {
  const body = path.join(tmp, `produce-${valueBytes}.body`);
  if (!fs.existsSync(body)) {
    fs.writeFileSync(body, envelope(toBinary(ProduceRequestSchema, create(ProduceRequestSchema, { record: { value: Buffer.alloc(valueBytes, 0x67) } }))));
  }
  const out = execFileSync("h2load", ["-c", "1", "-m", String(callers), "-D", String(seconds), "-d", body,
    "-H", "content-type: application/grpc", "-H", "te: trailers", `${url}/log.v1.LogService/Produce`], { encoding: "utf8" });
  const ok = Number(/(\d+) succeeded/.exec(out)?.[1]);
  const secs = Number(/finished in ([\d.]+)s/.exec(out)?.[1]);
  if (!(ok > 0) || !(secs > 0)) throw new Error(`h2load Produce: no successful call\n${out}`);
  return { records: ok, seconds: secs };
}

/** `producers` ProduceStreams, each with one record in flight (sends the next after its ack). */
function produceLockstep(url: string, valueBytes: number, producers: number) {
  const req = envelope(toBinary(ProduceStreamRequestSchema, create(ProduceStreamRequestSchema, { record: { value: Buffer.alloc(valueBytes, 0x66) } })));
  return grpcStreamLockstep(url, "/log.v1.LogService/ProduceStream", req, producers, seconds);
}

/**
 * One ProduceStream (raw HTTP/2 client) sending records for `seconds`, or
 * `limit` records, counting acknowledgements.
 */
async function produceStream(url: string, valueBytes: number, limit = Infinity) {
  const req = envelope(toBinary(ProduceStreamRequestSchema, create(ProduceStreamRequestSchema, { record: { value: Buffer.alloc(valueBytes, 0x63) } })));
  const end = performance.now() + seconds * 1000;
  function* requests() {
    for (let sent = 0; sent < limit && (limit !== Infinity || performance.now() < end); sent++) yield req;
  }
  const r = await grpcStreamCall(url, "/log.v1.LogService/ProduceStream", requests());
  if (r.status !== "0") throw new Error(`ProduceStream ended with grpc-status ${r.status}`);
  return { records: r.messages, seconds: r.seconds };
}

/** ConsumeStream from 0 (raw HTTP/2 client) until `expect` records arrived. */
async function consumeAll(url: string, expect: number) {
  const req = envelope(toBinary(ConsumeStreamRequestSchema, create(ConsumeStreamRequestSchema, { offset: 0n, stopAtEnd: true })));
  const r = await grpcStreamCall(url, "/log.v1.LogService/ConsumeStream", [req], expect);
  if (r.messages < expect) throw new Error(`ConsumeStream ended after ${r.messages} of ${expect} records (grpc-status ${r.status})`);
  return { records: r.messages, seconds: r.seconds };
}

pin(process.pid, 0);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bench-log-"));
console.log(`# LogService bench — ${new Date().toISOString()}, node ${process.version}, ${os.cpus().length}× ${os.cpus()[0]?.model}, ${seconds}s per run${pinned ? ", server on core 1, client on core 0" : ""}\n`);
try {
  for (const size of sizes) rawAppend(size, tmp);
  for (const size of sizes) {
    for (let round = 1; round <= groupRounds; round++) {
      await groupCommitRound("engine append", size, round, (n) => engineAppend(tmp, "always", size, n));
    }
    report({ name: `engine append fsync=interval, 64 appenders, ${size} B`, ...(await engineAppend(tmp, "interval", size, 64)), valueBytes: size });
  }

  for (const fsync of ["always", "interval", "never"]) {
    const server = await startSwitchboard(fsync);
    try {
      await produceUnary(server.url, 100, 8, 0.5); // warm-up
      for (const size of sizes) {
        if (fsync === "always") {
          // Group commit: 1 vs 64 producers, alternately for `groupRounds`
          // rounds (fsync latency drifts on a shared disk; medians in the summary).
          for (let round = 1; round <= groupRounds; round++) {
            await groupCommitRound("Produce (h2load)", size, round, (n) => measured(server.pid, () => produceUnaryH2load(server.url, size, n)));
            await groupCommitRound("ProduceStream lockstep", size, round, (n) => measured(server.pid, () => produceLockstep(server.url, size, n)));
          }
        } else {
          report({ name: `Produce fsync=${fsync}, 64 callers, ${size} B`, ...(await measured(server.pid, () => produceUnary(server.url, size, 64))), valueBytes: size });
        }
        // fsync=interval is measured below, alternately with the grpc-js peer.
        if (fsync !== "interval") {
          report({ name: `ProduceStream fsync=${fsync}, 1 stream, ${size} B`, ...(await measured(server.pid, () => produceStream(server.url, size))), valueBytes: size });
        }
      }
    } finally {
      await server.cleanup();
    }
  }

  // ProduceStream, fsync=interval, against the same client on the grpc-js peer
  // (memory only) and the connect-node floor (ack only): alternately, for
  // `groupRounds` rounds; the summary takes medians.
  for (const size of sizes) {
    const server = await startSwitchboard("interval");
    const peer = await startPeer(0, size);
    const floor = await startPeer(0, size, "connect-log-server.ts");
    try {
      const sides = [
        { name: `ProduceStream fsync=interval, 1 stream, ${size} B`, url: server.url, pid: server.pid },
        { name: `ProduceStream grpc-js peer (memory), 1 stream, ${size} B`, url: peer.url, pid: peer.pid },
        { name: `ProduceStream connect-node floor (ack only), 1 stream, ${size} B`, url: floor.url, pid: floor.pid },
      ];
      for (const side of sides) await produceStream(side.url, size, 10_000); // warm-up
      for (let round = 1; round <= groupRounds; round++) {
        for (const side of sides) {
          report({ name: `${side.name} (round ${round})`, ...(await measured(side.pid, () => produceStream(side.url, size))), valueBytes: size });
        }
      }
    } finally {
      peer.stop();
      floor.stop();
      await server.cleanup();
    }
  }

  // ConsumeStream over `consumeRecords` 100-byte records, alternating switchboard and peer.
  // The log is filled by the engine directly (faster than over RPC), then served.
  const fillStart = performance.now();
  const dataDir = path.join(tmp, "consume");
  const filled = await openCommitLog(path.join(dataDir, "log"), { fsync: "never" });
  const value = Buffer.alloc(100, 0x65);
  for (let i = 0; i < consumeRecords; i += 1000) {
    const acks = [];
    for (let j = i; j < Math.min(consumeRecords, i + 1000); j++) acks.push(filled.append(value));
    await Promise.all(acks);
  }
  await filled.close();
  console.log(`(filled ${consumeRecords} records in ${((performance.now() - fillStart) / 1000).toFixed(1)} s)`);
  const server = await startSwitchboard("interval", dataDir);
  const peer = await startPeer(consumeRecords, 100);
  try {
    for (let round = 0; round < 2; round++) {
      const s = await measured(server.pid, () => consumeAll(server.url, consumeRecords));
      report({ name: `ConsumeStream from 0, ${consumeRecords} records, 100 B (round ${round + 1})`, ...s, valueBytes: 100 });
      const p = await measured(peer.pid, () => consumeAll(peer.url, consumeRecords));
      report({
        name: `ConsumeStream grpc-js peer (memory), 100 B (round ${round + 1})`,
        ...p,
        valueBytes: 100,
        note: `switchboard/peer = ${(p.seconds / s.seconds).toFixed(2)}`,
      });
    }
  } finally {
    peer.stop();
    await server.cleanup();
  }
  summary();
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}

/**
 * The goals of issue 3, from the rows above. Both sides of a comparison ran
 * alternately, round by round, so each ratio is the median of the per-round
 * ratios (a round's two sides saw the same machine conditions).
 */
function summary() {
  const rate = (r: Row) => r.records / r.seconds;
  const cpuPerRecord = (r: Row) => (r.serverCpu !== undefined ? (r.serverCpu / r.records) * 1e6 : NaN);
  const rounds = (prefix: string) =>
    new Map(rows.filter((r) => r.name.startsWith(prefix)).map((r) => [/\(round (\d+)\)$/.exec(r.name)?.[1] ?? "", r]));
  /** Median over rounds of f(a) / f(b). */
  const paired = (a: string, b: string, f: (r: Row) => number) => {
    const bs = rounds(b);
    return median([...rounds(a)].flatMap(([k, ra]) => (bs.has(k) ? [f(ra) / f(bs.get(k)!)] : [])));
  };
  const line = (goal: string, a: string, b: string) =>
    console.log(
      `${goal.padEnd(58)} throughput ratio ${paired(a, b, rate).toFixed(2)}   server CPU per record ${median([...rounds(a).values()].map(cpuPerRecord)).toFixed(1)} vs ${median([...rounds(b).values()].map(cpuPerRecord)).toFixed(1)} µs (ratio ${paired(b, a, cpuPerRecord).toFixed(2)})`,
    );
  console.log("\n## Goals (ratio ≥ 1.0 means switchboard is at least as fast; medians of per-round ratios)");
  line("ConsumeStream vs grpc-js from memory", "ConsumeStream from 0", "ConsumeStream grpc-js");
  for (const size of sizes) {
    line(`ProduceStream fsync=interval vs grpc-js, ${size} B`, `ProduceStream fsync=interval, 1 stream, ${size} B`, `ProduceStream grpc-js peer (memory), 1 stream, ${size} B`);
    line(`  connect-node ack-only floor vs grpc-js, ${size} B`, `ProduceStream connect-node floor (ack only), 1 stream, ${size} B`, `ProduceStream grpc-js peer (memory), 1 stream, ${size} B`);
  }
  console.log(`\n## Group commit: fsync=always, 64 producers vs 1 producer (= one fsync per record), goal ≥ 10×; median of ${groupRounds} alternating rounds`);
  for (const size of sizes) {
    for (const kind of ["engine append", "ProduceStream lockstep", "Produce (h2load)"]) {
      const one = `${kind} fsync=always, 1 producer, ${size} B`;
      const many = `${kind} fsync=always, 64 producers, ${size} B`;
      const r = paired(many, one, rate);
      const perRound = [...rounds(many)].map(([k, m]) => (rate(m) / rate(rounds(one).get(k)!)).toFixed(1)).join(", ");
      console.log(`${r >= 10 ? "MET " : "MISS"}  ${`${kind}, ${size} B`.padEnd(34)} ${r.toFixed(1)}× (rounds: ${perRound}); 64 producers ${Math.round(median([...rounds(many).values()].map(rate)))} rec/s`);
    }
  }
}
