// Benchmark of cluster mode (issue 15) — not a test. In one run, the same
// server code embedded (SQLite, no flags) vs on PostgreSQL (`--postgres`, one
// instance on a throwaway PostgreSQL 15 from tests/harness/postgres.ts),
// alternating A B A B:
//  1. GetOrder calls/s: `--concurrency` callers over one gRPC h2c connection
//     for `--seconds` (the embedded store serves from its read cache; the
//     PostgreSQL store reads the row every time, since other instances write).
//  2. Task throughput: `--tasks` `echo` tasks submitted by 8 concurrent
//     submitters to a server with one real `switchboard worker` of capacity
//     8, timed from the first submit until every task is SUCCEEDED.
//
//   node bench/cluster.ts [--seconds 3] [--concurrency 32] [--tasks 200] [--rounds 2]
import { parseArgs } from "node:util";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { NodeService, TaskState } from "@switchboard/gen/node/v1/node_pb.js";
import { OrderService } from "@switchboard/gen/order/v1/order_pb.js";
import { eventually } from "@switchboard/test-harness/eventually";
import { startPostgres } from "@switchboard/test-harness/postgres";
import { startServerProcess, type ServerProcess } from "@switchboard/test-harness/server-process";
import { startWorkerProcess } from "@switchboard/test-harness/worker-process";
import { median } from "./median.ts";
import { cpuMeter, descendantCpu, processCpu, selfCpu } from "./proc-cpu.ts";

const { values: flags } = parseArgs({
  options: {
    seconds: { type: "string", default: "3" },
    concurrency: { type: "string", default: "32" },
    tasks: { type: "string", default: "200" },
    rounds: { type: "string", default: "2" },
  },
});
const seconds = Number(flags.seconds);
const concurrency = Number(flags.concurrency);
const taskCount = Number(flags.tasks);
const rounds = Number(flags.rounds);

/** GetOrder calls/s, and CPU µs per call of the server, PostgreSQL (all its processes) and this client. */
interface GetOrderRun {
  rps: number;
  serverUs: number;
  postgresUs: number;
  clientUs: number;
}

async function getOrderRps(server: ServerProcess): Promise<GetOrderRun> {
  const session = new Http2SessionManager(server.url);
  const client = createClient(OrderService, createGrpcTransport({ baseUrl: server.url, sessionManager: session }));
  try {
    for (let i = 0; i < 200; i++) await client.getOrder({ id: "102" }); // warm-up
    let calls = 0;
    const end = Date.now() + seconds * 1000;
    const cpu = cpuMeter({ server: () => processCpu(server.pid), postgres: () => descendantCpu("postgres"), client: selfCpu });
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (Date.now() < end) {
          await client.getOrder({ id: "102" });
          calls++;
        }
      }),
    );
    const rps = calls / ((performance.now() - t0) / 1000);
    const used = cpu();
    const perCall = (k: string) => (used[k]! * 1e6) / calls;
    return { rps, serverUs: perCall("server"), postgresUs: perCall("postgres"), clientUs: perCall("client") };
  } finally {
    session.abort();
  }
}

async function taskThroughput(server: ServerProcess, round: number): Promise<number> {
  const worker = startWorkerProcess({ serverUrl: server.url, id: `bench-${round}`, capacity: 8, allow: ["echo"], args: ["--heartbeat-interval", "500ms"] });
  const session = new Http2SessionManager(server.url);
  const client = createClient(NodeService, createGrpcTransport({ baseUrl: server.url, sessionManager: session }));
  try {
    await worker.waitForEvent((e) => e.event === "connected");
    const ids: string[] = [];
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (ids.length < taskCount) {
          ids.push((await client.submitTask({ command: { program: "echo", args: ["x"] } })).taskId);
        }
      }),
    );
    await eventually(
      async () => (await client.listTasks({ states: [TaskState.SUCCEEDED], workerId: worker.id, pageSize: 1000 })).tasks.length >= ids.length,
      300_000,
      "all tasks done",
    );
    return ids.length / ((performance.now() - t0) / 1000);
  } finally {
    session.abort();
    await worker.stop();
  }
}

const pg = await startPostgres();
const results: Record<string, { rps: GetOrderRun[]; tasks: number[] }> = { embedded: { rps: [], tasks: [] }, postgres: { rps: [], tasks: [] } };
try {
  for (let round = 0; round < rounds; round++) {
    for (const mode of ["embedded", "postgres"] as const) {
      const db = mode === "postgres" ? await pg.createDatabase(`bench_${round}`) : undefined;
      const server = await startServerProcess({
        args: ["--services", "order,node", "--no-request-log", ...(db ? ["--postgres", db] : [])],
      });
      try {
        results[mode]!.rps.push(await getOrderRps(server));
        results[mode]!.tasks.push(await taskThroughput(server, round));
      } finally {
        await server.cleanup();
      }
      console.log(`round ${round + 1} ${mode}: GetOrder ${results[mode]!.rps.at(-1)!.rps.toFixed(0)} calls/s, tasks ${results[mode]!.tasks.at(-1)!.toFixed(1)}/s`);
    }
  }
} finally {
  await pg.cleanup();
}
const med = (xs: number[]) => median(xs);
for (const mode of ["embedded", "postgres"] as const) {
  const r = results[mode]!.rps;
  const rps = med(r.map((x) => x.rps));
  console.log(`${mode}: GetOrder median ${rps.toFixed(0)} calls/s; submit→finish median ${med(results[mode]!.tasks).toFixed(1)} tasks/s`);
  // Where a GetOrder's time goes: its wall time (Little's law: callers ÷ rate)
  // against the CPU each process spent per call; on 2 shared cores the CPU sum
  // bounds the rate at 2e6 / sum calls/s.
  const server = med(r.map((x) => x.serverUs));
  const pg = med(r.map((x) => x.postgresUs));
  const client = med(r.map((x) => x.clientUs));
  console.log(
    `  per GetOrder: wall ${((concurrency / rps) * 1000).toFixed(2)} ms with ${concurrency} callers; CPU µs: server ${server.toFixed(0)}, ` +
      `PostgreSQL ${pg.toFixed(0)}, client ${client.toFixed(0)}; sum ${(server + pg + client).toFixed(0)} µs → CPU bound ≤ ${(2e6 / (server + pg + client)).toFixed(0)} calls/s on 2 cores`,
  );
}
console.log(
  `postgres / embedded: GetOrder ${(med(results.postgres!.rps.map((x) => x.rps)) / med(results.embedded!.rps.map((x) => x.rps))).toFixed(2)}x, tasks ${(med(results.postgres!.tasks) / med(results.embedded!.tasks)).toFixed(2)}x`,
);
