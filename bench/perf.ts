// Performance bench of issue 8: our server against a plain @grpc/grpc-js server
// on the same contract (bench/peers/grpc-js-order-server.ts), and against our
// own server with the fast path off (= stock connect-node, the "before").
//
//   npm run bench -- perf            (or: node bench/perf.ts)
//   BENCH_SECONDS=4 BENCH_ROUNDS=3   (defaults; about 6.5 minutes in all)
//
// Each server runs pinned to core 1, h2load pinned to core 0. Every scenario
// runs its servers alternately (A B A B …) for BENCH_ROUNDS rounds of
// BENCH_SECONDS each after a warm-up, and the table shows medians and ratios.
// Our server runs with request logging on (one JSON line per RPC, to a file).
// Besides requests/s it reports server CPU per request (from /proc, robust
// against other load on the machine) and p99 latency (from h2load's log file).
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { median } from "./median.ts";
import { writeOrderBodies, type OrderBody } from "./order-bodies.ts";

const root = path.join(import.meta.dirname, "..");
const seconds = Number(process.env.BENCH_SECONDS ?? 4);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const work = fs.mkdtempSync(path.join(os.tmpdir(), "switchboard-perf-"));
const clockTicks = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim());
const streamMessages = 600;
// Node flags exactly as `npm run serve` starts the server (e.g. --max-semi-space-size).
const serveScript: string = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")).scripts.serve;
const serverNodeFlags = (/node((?: --\S+)*) server\/src\/main\.ts/.exec(serveScript)?.[1] ?? "").trim().split(" ").filter(Boolean);

for (const prog of ["h2load", "taskset"]) {
  try {
    execFileSync("sh", ["-c", `command -v ${prog}`]);
  } catch {
    throw new Error(`${prog} is missing (apt-get install nghttp2-client util-linux)`);
  }
}

interface Server {
  name: string;
  pid: number;
  url: string;
  proc: ChildProcess;
}

const children: ChildProcess[] = [];
const stopAll = () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGTERM");
};
process.on("exit", stopAll);
process.on("SIGINT", () => process.exit(130));

async function startOurs(name: string, extra: string[]): Promise<Server> {
  const dataDir = fs.mkdtempSync(path.join(work, "data-"));
  const log = fs.openSync(path.join(work, `${name}.log`), "w");
  const proc = spawn(
    "taskset",
    ["-c", "1", process.execPath, ...serverNodeFlags, path.join(root, "server/src/main.ts"),
      "--host", "127.0.0.1", "--port", "0", "--data-dir", dataDir, "--services", "order", ...extra],
    { stdio: ["ignore", log, "inherit"] },
  );
  children.push(proc);
  const logFile = path.join(work, `${name}.log`);
  for (let i = 0; i < 600; i++) {
    const m = /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(fs.readFileSync(logFile, "utf8"));
    if (m) return { name, pid: proc.pid!, url: m[1]!, proc };
    if (proc.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${name} did not start; see ${logFile}`);
}

async function startPeer(): Promise<Server> {
  const proc = spawn("taskset", ["-c", "1", process.execPath, path.join(root, "bench/peers/grpc-js-order-server.ts")], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  children.push(proc);
  let out = "";
  proc.stdout!.setEncoding("utf8");
  for await (const chunk of proc.stdout!) {
    out += chunk;
    const m = /port (\d+)/.exec(out);
    if (m) return { name: "grpc-js", pid: proc.pid!, url: `http://127.0.0.1:${m[1]}`, proc };
  }
  throw new Error("grpc-js peer did not start");
}

// ---- a grpc-js client, to check answers and add the orders SearchOrders streams

const def = protoLoader.loadSync(path.join(root, "proto/order/v1/order.proto"), {
  includeDirs: [path.join(root, "proto"), path.join(root, "node_modules/google-proto-files")], // google/api/annotations.proto
  longs: String,
});
const OrderClient = (grpc.loadPackageDefinition(def) as any).order.v1.OrderService;

async function prepare(s: Server): Promise<void> {
  const c = new OrderClient(s.url.replace("http://", ""), grpc.credentials.createInsecure());
  const call = (m: string, req: object) =>
    new Promise<any>((res, rej) => c[m](req, (e: Error | null, r: unknown) => (e ? rej(e) : res(r))));
  const got = await call("getOrder", { id: "102" });
  if (got.order?.id !== "102") throw new Error(`${s.name}: GetOrder 102 returned ${JSON.stringify(got)}`);
  for (let i = 0; i < streamMessages - 5; i++) {
    const id = `bench-${String(i).padStart(4, "0")}`;
    await call("addOrder", { order: { id, items: [`item ${i}`], description: "bench", priceCents: 100, destination: "Bench City" } });
  }
  const n = await new Promise<number>((res, rej) => {
    let k = 0;
    const st = c.searchOrders({ query: "" });
    st.on("data", () => k++);
    st.on("end", () => res(k));
    st.on("error", rej);
  });
  if (n !== streamMessages) throw new Error(`${s.name}: SearchOrders streamed ${n} messages, expected ${streamMessages}`);
  c.close();
}

// ---- h2load

writeOrderBodies(work);

interface Load {
  path: string;
  body: OrderBody;
  headers: string[];
  c: number;
  m: number;
  h1?: boolean;
}
interface Sample {
  rps: number;
  cpuUsPerReq: number;
  p99ms: number;
}

function cpuTicks(pid: number): number {
  const f = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return Number(f[11]) + Number(f[12]); // utime + stime
}
export function peakRssMiB(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(m![1]) / 1024;
}

async function h2load(s: Server, load: Load, secs: number): Promise<Sample> {
  const logFile = path.join(work, "h2load.log");
  const args = ["-c", "0", "h2load", "-c", String(load.c), "-m", String(load.m), "-D", String(secs),
    "-d", path.join(work, `${load.body}.body`), "--log-file", logFile];
  if (load.h1) args.push("--h1");
  for (const h of load.headers) args.push("-H", h);
  args.push(s.url + load.path);
  const before = cpuTicks(s.pid);
  const p = spawn("taskset", args, { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  p.stdout!.setEncoding("utf8").on("data", (d) => (out += d));
  await once(p, "exit");
  const cpu = ((cpuTicks(s.pid) - before) / clockTicks) * 1e6;
  const done = Number(/requests: \d+ total, \d+ started, (\d+) done, (\d+) succeeded/.exec(out)?.[2] ?? 0);
  const rps = Number(/finished in [\d.]+s, ([\d.]+) req\/s/.exec(out)?.[1] ?? 0);
  const lat = fs.readFileSync(logFile, "utf8").trim().split("\n").map((l) => Number(l.split("\t")[2])).sort((a, b) => a - b);
  const p99 = lat.length ? lat[Math.min(lat.length - 1, Math.floor(lat.length * 0.99))]! / 1000 : NaN;
  if (done === 0 && secs >= seconds) throw new Error(`${s.name}: no successful request\n${out}`);
  return { rps, cpuUsPerReq: done ? cpu / done : NaN, p99ms: p99 };
}


/** One side of a comparison: a server under a load, reported under `key`. */
interface Entry {
  key: string;
  server: Server;
  load: Load;
}

/** Runs the entries alternately (A B A B …); returns the medians per key. */
async function compare(entries: Entry[]): Promise<Map<string, Sample>> {
  for (const e of entries) await h2load(e.server, e.load, 2); // warm-up (its numbers are not used)
  const samples = new Map<string, Sample[]>(entries.map((e) => [e.key, []]));
  for (let r = 0; r < rounds; r++) {
    for (const e of entries) samples.get(e.key)!.push(await h2load(e.server, e.load, seconds));
  }
  return new Map(
    [...samples].map(([k, v]) => [
      k,
      { rps: median(v.map((x) => x.rps)), cpuUsPerReq: median(v.map((x) => x.cpuUsPerReq)), p99ms: median(v.map((x) => x.p99ms)) },
    ]),
  );
}

/** Runs `load` on each server alternately; returns the medians per server name. */
function scenario(servers: Server[], load: Load): Promise<Map<string, Sample>> {
  return compare(servers.map((server) => ({ key: server.name, server, load })));
}

// ---- run

const started = Date.now();
const ours = await startOurs("switchboard", []);
const before = await startOurs("connect-node", ["--no-fast-path"]);
const peer = await startPeer();
for (const s of [ours, before, peer]) await prepare(s);

const getOrder = "/order.v1.OrderService/GetOrder";
const grpcHeaders = ["content-type: application/grpc", "te: trailers"];
const rows: string[][] = [];
const f0 = (n: number) => n.toFixed(0);
const f2 = (n: number) => n.toFixed(2);
const goals: Array<[string, boolean, string]> = [];
// Issue 22's goals: gRPC unary and server streaming ≥ 1.3× grpc-js; Connect unary ≥ 0.9× our gRPC.
const unaryGoal = 1.3;
const connectGoal = 0.9;
const loadAt = () => os.loadavg().map((x) => x.toFixed(2)).join(" ");
const loadBefore = loadAt();

for (const [c, m] of [[1, 1], [4, 16], [16, 64]] as const) {
  const withBefore = c === 4;
  const res = await scenario(withBefore ? [ours, peer, before] : [ours, peer], { path: getOrder, body: "grpc", headers: grpcHeaders, c, m });
  const a = res.get("switchboard")!;
  const b = res.get("grpc-js")!;
  const z = res.get("connect-node");
  rows.push([`gRPC unary GetOrder h2c ${c}x${m}`, f0(a.rps), f0(b.rps), z ? f0(z.rps) : "", f2(a.rps / b.rps),
    f0(a.cpuUsPerReq), f0(b.cpuUsPerReq), f2(a.p99ms), f2(b.p99ms)]);
  goals.push([`gRPC unary ${c}x${m} req/s >= ${unaryGoal}x grpc-js`, a.rps >= unaryGoal * b.rps, f2(a.rps / b.rps)]);
  goals.push([`gRPC unary ${c}x${m} p99 <= grpc-js`, a.p99ms <= b.p99ms, `${f2(a.p99ms)} vs ${f2(b.p99ms)} ms`]);
}
const rssOurs = peakRssMiB(ours.pid);
const rssPeer = peakRssMiB(peer.pid);
goals.push(["peak RSS after 16x64 unary <= grpc-js", rssOurs <= rssPeer, `${f0(rssOurs)} vs ${f0(rssPeer)} MiB`]);

// Connect unary: each row runs alternately with our gRPC 4x16 and grpc-js's
// gRPC 4x16 in the same time window, so its ratio does not depend on how busy
// the machine was minutes earlier, when the gRPC rows ran.
const grpc4x16Load: Load = { path: getOrder, body: "grpc", headers: grpcHeaders, c: 4, m: 16 };
for (const [label, body, ct, h1] of [
  ["Connect unary proto h2c 4x16", "proto", "application/proto", false],
  ["Connect unary JSON h2c 4x16", "json", "application/json", false],
  ["Connect unary proto HTTP/1.1 4x16", "proto", "application/proto", true],
  ["Connect unary JSON HTTP/1.1 4x16", "json", "application/json", true],
] as const) {
  const load: Load = { path: getOrder, body, headers: [`content-type: ${ct}`], c: 4, m: 16, h1 };
  const entries: Entry[] = [
    { key: "connect", server: ours, load },
    { key: "our grpc", server: ours, load: grpc4x16Load },
    { key: "grpc-js grpc", server: peer, load: grpc4x16Load },
  ];
  if (body === "proto" && !h1) entries.push({ key: "before", server: before, load });
  const res = await compare(entries);
  const a = res.get("connect")!;
  const g = res.get("our grpc")!;
  const j = res.get("grpc-js grpc")!;
  const z = res.get("before");
  rows.push([label, f0(a.rps), "", z ? f0(z.rps) : "", `${f2(a.rps / g.rps)} / ${f2(a.rps / j.rps)}`, f0(a.cpuUsPerReq),
    `${f0(g.cpuUsPerReq)} (our gRPC)`, f2(a.p99ms), ""]);
  goals.push([`${label} >= ${connectGoal}x our gRPC 4x16 (same window)`, a.rps >= connectGoal * g.rps, `${f0(a.rps)} vs ${f0(g.rps)} req/s = ${f2(a.rps / g.rps)}; vs grpc-js gRPC ${f2(a.rps / j.rps)}`]);
}

{
  const res = await scenario([ours, peer, before], {
    path: "/order.v1.OrderService/SearchOrders", body: "search", headers: grpcHeaders, c: 1, m: 4,
  });
  const a = res.get("switchboard")!;
  const b = res.get("grpc-js")!;
  const z = res.get("connect-node")!;
  const msgs = (s: Sample) => s.rps * streamMessages;
  rows.push([`SearchOrders ${streamMessages} msgs, 4 in flight (msg/s)`, f0(msgs(a)), f0(msgs(b)), f0(msgs(z)),
    f2(a.rps / b.rps), f2(a.cpuUsPerReq / streamMessages), f2(b.cpuUsPerReq / streamMessages), "", ""]);
  goals.push([`server streaming msg/s >= ${unaryGoal}x grpc-js`, a.rps >= unaryGoal * b.rps, f2(a.rps / b.rps)]);
}

const head = ["scenario", "ours", "grpc-js", "before", "ratio", "cpu µs ours", "cpu µs grpc-js", "p99 ms ours", "p99 ms grpc-js"];
const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
console.log(`\nperf bench: ${rounds} rounds × ${seconds}s per server and scenario, medians; node ${process.version}`);
console.log(`server node flags (from the "serve" script): ${serverNodeFlags.join(" ") || "none"}`);
console.log("ours = switchboard (fast path, request log on); before = same server with --no-fast-path (stock connect-node)");
console.log("ratio = ours / grpc-js (Connect rows: Connect / our gRPC 4x16 / Connect / grpc-js gRPC 4x16, both run alternately with the Connect load); cpu µs = server CPU per request (per message for streaming)\n");
console.log(line(head));
for (const r of rows) console.log(line(r));
console.log(`\npeak RSS after the unary runs: ours ${f0(rssOurs)} MiB, grpc-js ${f0(rssPeer)} MiB, before ${f0(peakRssMiB(before.pid))} MiB\n`);
for (const [g, ok, v] of goals) console.log(`${ok ? "MET " : "MISS"}  ${g}  (${v})`);
console.log(`\nrun time ${((Date.now() - started) / 1000).toFixed(0)} s; load average before ${loadBefore}, after ${loadAt()}; logs in ${work}`);
stopAll();
