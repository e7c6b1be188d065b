// Benchmark of the commit log's backends (not a test), in one run against the
// same throwaway 3-node NATS cluster (tests/harness/nats.ts):
//   embedded segment log (--log-fsync always) vs NATS JetStream R1 vs R3.
// Per backend, through a real server process and the connect-es gRPC client:
//   - Produce: `--callers` concurrent unary callers for `--seconds`, 100-byte records: records/s and p99
//   - ProduceStream: one stream of `--records` records (pipelined acks): records/s
//   - ConsumeStream: everything produced, from offset 0 (stop_at_end): records/s
//   - Consume: `--callers` concurrent unary reads of random offsets for `--seconds`: reads/s and p99
// The client runs in this process, so client CPU is part of every figure;
// compare rows of the same run only.
//
//   node bench/log-backends.ts [--seconds 5] [--callers 32] [--records 20000]   (≈ 1.5 min)
import { parseArgs } from "node:util";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { LogService } from "@switchboard/gen/log/v1/log_pb.js";
import { startNatsCluster } from "@switchboard/test-harness/nats";
import { startServerProcess, type ServerProcess } from "@switchboard/test-harness/server-process";
import { cpuMeter, descendantCpu, processCpu, selfCpu } from "./proc-cpu.ts";

const { values: flags } = parseArgs({
  options: {
    seconds: { type: "string", default: "5" },
    callers: { type: "string", default: "32" },
    records: { type: "string", default: "20000" },
  },
});
const seconds = Number(flags.seconds);
const callers = Number(flags.callers);
const streamRecords = Number(flags.records);
const value = new Uint8Array(100).fill(42);

function p99(samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] ?? NaN;
}

/** `callers` loops of `call` for `seconds`: calls per second and p99 latency in ms. */
async function loops(call: () => Promise<unknown>): Promise<{ perSecond: number; p99Ms: number; errors: number }> {
  const until = performance.now() + seconds * 1000;
  const latencies: number[] = [];
  let errors = 0;
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (performance.now() < until) {
        const t = performance.now();
        try {
          await call();
          latencies.push(performance.now() - t);
        } catch {
          errors++;
        }
      }
    }),
  );
  return { perSecond: latencies.length / seconds, p99Ms: p99(latencies), errors };
}

/** CPU µs per operation of the server, the NATS servers and this client during one phase. */
interface Cpu {
  server: number;
  nats: number;
  client: number;
}

async function measure(name: string, server: ServerProcess) {
  const client = createClient(LogService, createGrpcTransport({ baseUrl: server.url }));
  const meter = () => cpuMeter({ server: () => processCpu(server.pid), nats: () => descendantCpu("nats-server"), client: selfCpu });
  const perOp = (used: Record<string, number>, ops: number): Cpu => ({
    server: (used.server! * 1e6) / ops,
    nats: (used.nats! * 1e6) / ops,
    client: (used.client! * 1e6) / ops,
  });
  let m = meter();
  const produce = await loops(() => client.produce({ record: { value } }));
  const produceCpu = perOp(m(), produce.perSecond * seconds);
  let t = performance.now();
  let acks = 0;
  async function* reqs() {
    for (let i = 0; i < streamRecords; i++) yield { record: { value } };
  }
  m = meter();
  for await (const _ of client.produceStream(reqs())) acks++;
  const produceStream = acks / ((performance.now() - t) / 1000);
  const produceStreamCpu = perOp(m(), acks);
  const { nextOffset } = await client.getOffsets({});
  t = performance.now();
  let consumed = 0;
  m = meter();
  for await (const _ of client.consumeStream({ offset: 0n, stopAtEnd: true })) consumed++;
  const consumeStream = consumed / ((performance.now() - t) / 1000);
  const consumeStreamCpu = perOp(m(), consumed);
  const total = Number(nextOffset);
  m = meter();
  const consume = await loops(() => client.consume({ offset: BigInt(Math.floor(Math.random() * total)) }));
  const consumeCpu = perOp(m(), consume.perSecond * seconds);
  return {
    name, produce, produceStream, consumeStream, consumed, consume,
    cpu: { Produce: produceCpu, ProduceStream: produceStreamCpu, ConsumeStream: consumeStreamCpu, Consume: consumeCpu },
  };
}

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
const nats = await startNatsCluster();
const servers: ServerProcess[] = [];
try {
  const base = ["--services", "log", "--no-request-log"];
  const backends: Array<[string, string[]]> = [
    ["embedded (fsync always)", []],
    ["JetStream R1", ["--nats", nats.urls, "--log-stream", "bench-r1", "--log-replicas", "1"]],
    ["JetStream R3", ["--nats", nats.urls, "--log-stream", "bench-r3", "--log-replicas", "3"]],
  ];
  const rows = [];
  for (const [name, args] of backends) {
    const server = await startServerProcess({ args: [...base, ...args] });
    servers.push(server);
    console.error(`measuring ${name} ...`);
    rows.push(await measure(name, server));
    await server.cleanup();
  }
  console.log(`\n${seconds} s per unary measurement, ${callers} callers, 100-byte records, ProduceStream of ${streamRecords} records\n`);
  console.log("| backend | Produce rec/s | Produce p99 ms | ProduceStream rec/s | ConsumeStream rec/s | Consume reads/s | Consume p99 ms |");
  console.log("|---|---:|---:|---:|---:|---:|---:|");
  for (const r of rows) {
    console.log(
      `| ${r.name} | ${fmt(r.produce.perSecond)} | ${r.produce.p99Ms.toFixed(1)} | ${fmt(r.produceStream)} | ${fmt(r.consumeStream)} (${fmt(r.consumed)} records) | ${fmt(r.consume.perSecond)} | ${r.consume.p99Ms.toFixed(1)} |` +
        (r.produce.errors + r.consume.errors > 0 ? ` errors: ${r.produce.errors + r.consume.errors}` : ""),
    );
  }
  // Where the time goes: CPU per record (per read for Consume) of each
  // process, beside the wall time of one unary call (callers ÷ rate). Wall
  // time well above the CPU sum is waiting: NATS round trips (and R3's quorum
  // write), fsync, or the cores being busy with the other processes.
  console.log("\nCPU µs per record: server / NATS (all 3 nats-servers) / this client; unary rows also wall ms per call\n");
  console.log("| backend | Produce | ProduceStream | ConsumeStream | Consume |");
  console.log("|---|---|---|---|---|");
  for (const r of rows) {
    const c = (k: keyof typeof r.cpu) => `${r.cpu[k].server.toFixed(0)} / ${r.cpu[k].nats.toFixed(0)} / ${r.cpu[k].client.toFixed(0)}`;
    const wall = (perSecond: number) => ((callers / perSecond) * 1000).toFixed(1);
    console.log(`| ${r.name} | ${c("Produce")}; wall ${wall(r.produce.perSecond)} ms | ${c("ProduceStream")} | ${c("ConsumeStream")} | ${c("Consume")}; wall ${wall(r.consume.perSecond)} ms |`);
  }
} finally {
  await Promise.all(servers.map((s) => s.cleanup()));
  await nats.cleanup();
}
