// Per-layer CPU budget of one call (issue 22): runs each server under h2load
// with V8's sampling profiler (`--cpu-prof`) and a GC trace (`--trace-gc`),
// then attributes every sample of the measured window to a layer and prints
// µs of server CPU per call (per message for SearchOrders) by layer.
//
//   node bench/profile.ts [--seconds 8] [--interval 100] [--only grpc-4x16,bare-4x16,...] [--keep]
//                         [--node-flags "--max-semi-space-size=16"]   (default: the serve script's)
//                         [--rounds 3] [--baseline /path/to/other/checkout]   (A B A B, medians)
//   (npm run bench -- profile; about 2.5 minutes per round)
//
// The profiler's sample times are wall time: on a core shared with other
// work a sample also covers time the thread waited for the CPU, so raw
// profile µs swing with the machine's load. Each layer is therefore reported
// as its share of the profile's busy samples times the main thread's CPU
// time per call (/proc/PID/task/PID/stat, counted only while it runs); the
// whole process's CPU (GC helper and libuv threads too) is a row of its own.
// Servers are pinned to core 1 and h2load to core 0, as in bench/perf.ts,
// and our server runs as `npm run serve` runs it: request log on (to a
// file), metrics on, fast path on. Compare columns of one run; with
// --baseline, the two servers run alternately (A B A B) and the table shows
// medians. The bare column (bench/peers/bare-h2-server.ts) is the ceiling:
// Node's HTTP/2 core answering with fixed bytes.
//
// Attribution (see `layerOf`): a sample goes to the innermost frame that
// belongs to a layer. Library frames (protobuf-es, connect's helpers, V8
// builtins without a URL) go to their caller's layer, so protobuf decode time
// counts as "decode" and a Headers copy made by the metrics interceptor as
// "metrics". Node's own JS frames go to the caller's layer too, but are
// reported apart when that caller is our framing ("Node http2 stream API,
// called by us": respond, end, sendTrailers, on) — and to "Node http2/http
// core" when no code of ours is on the stack (session callbacks, nghttp2
// glue, socket writes, timers). "(program)" is V8/nghttp2/libuv native time
// the profiler cannot put on a JS stack; "(garbage collector)" is GC.
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import fs from "node:fs";
import http2 from "node:http2";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { median } from "./median.ts";
import { orderBodies, writeOrderBodies, type OrderBody } from "./order-bodies.ts";

const root = path.join(import.meta.dirname, "..");
const { values: args } = parseArgs({
  options: {
    seconds: { type: "string", default: "8" },
    interval: { type: "string", default: "100" },
    only: { type: "string" },
    keep: { type: "boolean", default: false },
    rounds: { type: "string", default: "1" },
    // Print the N hottest functions (self time, with their layer) of each column's last round.
    top: { type: "string", default: "0" },
    // Another checkout of this repository (node_modules linked): its server runs alternately with ours.
    baseline: { type: "string" },
    // Node flags for the baseline's server (default: the same as ours); with --baseline . it compares flags.
    "baseline-node-flags": { type: "string" },
    // Node flags for our server instead of the serve script's (e.g. "--max-semi-space-size=16").
    "node-flags": { type: "string" },
  },
});
const seconds = Number(args.seconds);
const rounds = Number(args.rounds);
const baseline = args.baseline === undefined ? undefined : path.resolve(args.baseline);
const work = fs.mkdtempSync(path.join(os.tmpdir(), "switchboard-profile-"));
const clockTicks = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim());
const serveScript: string = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")).scripts.serve;
const serveFlags = (/node((?: --\S+)*) server\/src\/main\.ts/.exec(serveScript)?.[1] ?? "").trim();
const serverNodeFlags = (args["node-flags"] ?? serveFlags).split(" ").filter(Boolean);
const baselineNodeFlags = args["baseline-node-flags"]?.split(" ").filter(Boolean) ?? serverNodeFlags;
const profFlags = (dir: string) => ["--cpu-prof", `--cpu-prof-dir=${dir}`, `--cpu-prof-interval=${args.interval}`, "--trace-gc"];

// ---- servers

type Kind = "ours" | "bare" | "grpc-js";
interface Server {
  proc: ChildProcess;
  url: string;
  out: string;
  profDir: string;
}
const children = new Set<ChildProcess>();
process.on("exit", () => {
  for (const c of children) c.kill("SIGKILL");
});

async function waitFor(file: string, re: RegExp, proc: ChildProcess): Promise<RegExpExecArray> {
  for (let i = 0; i < 600; i++) {
    const m = re.exec(fs.readFileSync(file, "utf8"));
    if (m) return m;
    if (proc.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`server did not start; see ${file}`);
}

async function start(kind: Kind, name: string, bareResponse: string, dir = root, isBaseline = false): Promise<Server> {
  const profDir = fs.mkdtempSync(path.join(work, `${name}-`));
  const out = path.join(profDir, "stdout.log");
  const fd = fs.openSync(out, "w");
  const script = {
    ours: ["server/src/main.ts", "--host", "127.0.0.1", "--port", "0", "--data-dir", profDir, "--services", "order"],
    bare: ["bench/peers/bare-h2-server.ts", bareResponse],
    "grpc-js": ["bench/peers/grpc-js-order-server.ts"],
  }[kind];
  const nodeFlags = kind !== "ours" ? [] : isBaseline ? baselineNodeFlags : serverNodeFlags;
  const proc = spawn("taskset", ["-c", "1", process.execPath, ...nodeFlags, ...profFlags(profDir), ...script], {
    cwd: dir,
    stdio: ["ignore", fd, "inherit"],
  });
  children.add(proc);
  const m = await waitFor(out, kind === "ours" ? /"url":"(http:\/\/127\.0\.0\.1:\d+)"/ : /port (\d+)/, proc);
  const url = kind === "ours" ? m[1]! : `http://127.0.0.1:${m[1]}`;
  return { proc, url, out, profDir };
}

async function stop(s: Server): Promise<void> {
  s.proc.kill("SIGTERM");
  if (s.proc.exitCode === null) await once(s.proc, "exit");
  children.delete(s.proc);
}

// ---- load

const getOrder = "/order.v1.OrderService/GetOrder";
writeOrderBodies(work);
const grpcHeaders = ["content-type: application/grpc", "te: trailers"];

interface Load {
  path: string;
  body: OrderBody;
  headers: string[];
  c: number;
  m: number;
  h1?: boolean;
  /** Messages per call (SearchOrders streams 5 seeded orders here: no orders are added). */
  perCall?: number;
}

/** utime + stime of a process (all threads) or, with `tid`, of one of its threads. */
function cpuTicks(pid: number, tid?: number): number {
  const file = tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`;
  const f = fs.readFileSync(file, "utf8").split(") ")[1]!.split(" ");
  return Number(f[11]) + Number(f[12]);
}

/** Runs h2load; returns the completed calls and the monotonic µs window it ran in. */
async function h2load(url: string, load: Load, secs: number): Promise<{ done: number; from: number; to: number }> {
  const a = ["-c", "0", "h2load", "-c", String(load.c), "-m", String(load.m), "-D", String(secs), "-d", path.join(work, `${load.body}.body`)];
  if (load.h1) a.push("--h1");
  for (const h of load.headers) a.push("-H", h);
  a.push(url + load.path);
  const from = Number(process.hrtime.bigint() / 1000n);
  const p = spawn("taskset", a, { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  p.stdout!.setEncoding("utf8").on("data", (d) => (out += d));
  await once(p, "exit");
  const to = Number(process.hrtime.bigint() / 1000n);
  const done = Number(/requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded/.exec(out)?.[1] ?? 0);
  if (done === 0) throw new Error(`no successful request\n${out}`);
  return { done, from, to };
}

/** One GetOrder 102 over gRPC: the response bytes the bare server sends back. */
async function grpcResponseBytes(url: string): Promise<Buffer> {
  const session = http2.connect(url);
  const req = session.request({ ":method": "POST", ":path": getOrder, ...Object.fromEntries(grpcHeaders.map((h) => h.split(": "))) });
  req.end(orderBodies.grpc);
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  session.close();
  return Buffer.concat(chunks);
}

// ---- profile analysis

interface CallFrame {
  functionName: string;
  url: string;
}
interface Profile {
  nodes: Array<{ id: number; callFrame: CallFrame; children?: number[] }>;
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

const layers = [
  "Node http2/http core (no code of ours on the stack)",
  "Node http2 stream API, called by us (respond/end/trailers/on)",
  "listener dispatch + connection guards (server/src/http)",
  "our framing (fast path: headers, envelope, timers, trailers)",
  "decode (protobuf-es / JSON)",
  "interceptor chain + lazy context (invoke.ts, fast-context.ts)",
  "metrics interceptor",
  "trace context interceptor",
  "request log (interceptor + pino + line writer)",
  "handler (OrderService + store)",
  "encode (protobuf-es / JSON + envelope)",
  "grpc-js library (all layers)",
  "bare server's own code",
  "other JS",
  "native, unattributed ((program): V8, nghttp2, libuv)",
  "garbage collector",
] as const;
type Layer = (typeof layers)[number];

function layerOf(stack: CallFrame[]): Layer | "idle" {
  const leaf = stack[0]!;
  if (leaf.functionName === "(idle)") return "idle";
  if (leaf.functionName === "(garbage collector)") return "garbage collector";
  if (leaf.functionName === "(program)") return "native, unattributed ((program): V8, nghttp2, libuv)";
  let viaNode = false;
  for (const { url: u, functionName: fn } of stack) {
    if (/\/pino\/|sonic-boom|quick-format|fast-safe-stringify|line-writer\.ts|request-log\.ts|\/logger\.ts/.test(u)) {
      return "request log (interceptor + pino + line writer)";
    }
    if (/interceptors\/metrics\.ts|server\/src\/metrics\/|prom-client/.test(u)) return "metrics interceptor";
    if (/interceptors\/trace\.ts|server\/src\/trace\//.test(u)) return "trace context interceptor";
    if (/server\/src\/(order|db)\/|^node:sqlite/.test(u)) return "handler (OrderService + store)";
    if (/@grpc\/grpc-js|protobufjs|@grpc\/proto-loader|grpc-js-order-server/.test(u)) return "grpc-js library (all layers)";
    if (u.includes("bare-h2-server")) return viaNode ? "Node http2 stream API, called by us (respond/end/trailers/on)" : "bare server's own code";
    if (fn === "parseEnvelope" || fn === "parse" || fn === "fromBinary" || fn === "fromJson" || fn === "fromJsonString") {
      if (!u.startsWith("node:")) return "decode (protobuf-es / JSON)";
    }
    if (fn === "serialize" || fn === "encodeEnvelope" || fn === "#frame" || fn === "toBinary" || fn === "toJson" || fn === "toJsonString") {
      if (!u.startsWith("node:")) return "encode (protobuf-es / JSON + envelope)";
    }
    if (/fastpath\/(invoke|fast-context)\.ts|message-compression\.ts|interceptors\/call-protocol\.ts/.test(u)) {
      return "interceptor chain + lazy context (invoke.ts, fast-context.ts)";
    }
    if (/server\/src\/fastpath\//.test(u)) {
      return viaNode ? "Node http2 stream API, called by us (respond/end/trailers/on)" : "our framing (fast path: headers, envelope, timers, trailers)";
    }
    if (/server\/src\/http\//.test(u)) return "listener dispatch + connection guards (server/src/http)";
    if (u.startsWith("node:")) viaNode = true;
  }
  return viaNode ? "Node http2/http core (no code of ours on the stack)" : "other JS";
}

/** µs of CPU per layer between `from` and `to` (monotonic µs, the profile's clock). */
function analyse(file: string, from: number, to: number): Map<Layer | "idle", number> {
  const p: Profile = JSON.parse(fs.readFileSync(file, "utf8"));
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const memo = new Map<number, Layer | "idle">();
  const layer = (id: number) => {
    let l = memo.get(id);
    if (l === undefined) {
      const stack: CallFrame[] = [];
      for (let i: number | undefined = id; i !== undefined; i = parent.get(i)) stack.push(byId.get(i)!.callFrame);
      memo.set(id, (l = layerOf(stack)));
    }
    return l;
  };
  const out = new Map<Layer | "idle", number>();
  let t = p.startTime;
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i]!;
    // A sample stands for the time until the next one.
    const dt = p.timeDeltas[i + 1] ?? 0;
    if (t < from || t > to) continue;
    const l = layer(p.samples[i]!);
    out.set(l, (out.get(l) ?? 0) + dt);
    if (hot !== undefined && l !== "idle") {
      const cf = byId.get(p.samples[i]!)!.callFrame;
      const k = `${l.split(" (")[0]}: ${cf.functionName || "(anonymous)"} ${cf.url.replace(/^.*\/(node_modules|server\/src)\//, "$1/")}`;
      hot.set(k, (hot.get(k) ?? 0) + dt);
    }
  }
  return out;
}

/** With --top: the hottest functions (self time) of the last analysed window, by layer. */
let hot: Map<string, number> | undefined;

/**
 * GC events so far (scavenges, mark-compacts), their pause ms and the bytes
 * allocated (heap growth between collections), from the --trace-gc lines;
 * the run's figures are the difference of two reads.
 */
function gcSummary(stdout: string): { scavenges: number; markCompacts: number; ms: number; allocatedMB: number } {
  let scavenges = 0;
  let markCompacts = 0;
  let ms = 0;
  let allocatedMB = 0;
  let last: number | undefined;
  for (const line of fs.readFileSync(stdout, "utf8").split("\n")) {
    const m = /\d+ ms: (Scavenge|Mark-Compact|Mark-sweep)\S* ([\d.]+) \([\d.]+\) -> ([\d.]+) .*?, ([\d.]+) \/ [\d.]+ ms/.exec(line);
    if (!m) continue;
    if (m[1] === "Scavenge") scavenges++;
    else markCompacts++;
    ms += Number(m[4]);
    if (last !== undefined) allocatedMB += Math.max(0, Number(m[2]) - last);
    last = Number(m[3]);
  }
  return { scavenges, markCompacts, ms, allocatedMB };
}

// ---- scenarios

interface Scenario {
  name: string;
  kind: Kind;
  load: Load;
}
const scenarios: Scenario[] = [
  { name: "grpc-4x16", kind: "ours", load: { path: getOrder, body: "grpc", headers: grpcHeaders, c: 4, m: 16 } },
  { name: "bare-4x16", kind: "bare", load: { path: getOrder, body: "grpc", headers: grpcHeaders, c: 4, m: 16 } },
  { name: "grpcjs-4x16", kind: "grpc-js", load: { path: getOrder, body: "grpc", headers: grpcHeaders, c: 4, m: 16 } },
  { name: "grpc-16x64", kind: "ours", load: { path: getOrder, body: "grpc", headers: grpcHeaders, c: 16, m: 64 } },
  { name: "grpcjs-16x64", kind: "grpc-js", load: { path: getOrder, body: "grpc", headers: grpcHeaders, c: 16, m: 64 } },
  { name: "grpc-1x1", kind: "ours", load: { path: getOrder, body: "grpc", headers: grpcHeaders, c: 1, m: 1 } },
  { name: "bare-1x1", kind: "bare", load: { path: getOrder, body: "grpc", headers: grpcHeaders, c: 1, m: 1 } },
  { name: "grpcjs-1x1", kind: "grpc-js", load: { path: getOrder, body: "grpc", headers: grpcHeaders, c: 1, m: 1 } },
  { name: "connect-proto-h2", kind: "ours", load: { path: getOrder, body: "proto", headers: ["content-type: application/proto"], c: 4, m: 16 } },
  { name: "connect-json-h2", kind: "ours", load: { path: getOrder, body: "json", headers: ["content-type: application/json"], c: 4, m: 16 } },
  { name: "connect-proto-h1", kind: "ours", load: { path: getOrder, body: "proto", headers: ["content-type: application/proto"], c: 4, m: 16, h1: true } },
  { name: "connect-json-h1", kind: "ours", load: { path: getOrder, body: "json", headers: ["content-type: application/json"], c: 4, m: 16, h1: true } },
  { name: "search-stream", kind: "ours", load: { path: "/order.v1.OrderService/SearchOrders", body: "search", headers: grpcHeaders, c: 1, m: 4, perCall: 5 } },
];
const only = args.only?.split(",");
const chosen = scenarios.filter((s) => only === undefined || only.includes(s.name));

const hotByColumn = new Map<string, string[]>();
/** One measured run, every figure per call. */
type Figures = Map<string, number>;
const runs = new Map<string, Figures[]>();
let bareResponse = "";
for (let round = 0; round < rounds; round++) {
  for (const s of chosen) {
    const variants = s.kind === "ours" && baseline !== undefined ? [root, baseline] : [root];
    for (const [i, dir] of variants.entries()) {
      const key = i === 0 ? s.name : `${s.name} (baseline)`;
      if (s.kind === "bare" && bareResponse === "") {
        const probe = await start("ours", "probe", "", root);
        bareResponse = (await grpcResponseBytes(probe.url)).toString("hex");
        await stop(probe);
      }
      const f = await measure(s, await start(s.kind, s.name, bareResponse, dir, i === 1));
      if (!runs.has(key)) runs.set(key, []);
      runs.get(key)!.push(f);
      console.error(`round ${round + 1}: ${key}: ${f.get("calls")} calls, ${f1(f.get("main")!)} µs main-thread CPU per call`);
    }
  }
}

async function measure(s: Scenario, server: Server): Promise<Figures> {
  await h2load(server.url, s.load, 2); // warm-up, not measured
  const pid = server.proc.pid!;
  const cpu0 = cpuTicks(pid);
  const main0 = cpuTicks(pid, pid);
  const gc0 = gcSummary(server.out);
  const run = await h2load(server.url, s.load, seconds);
  const procUs = ((cpuTicks(pid) - cpu0) / clockTicks) * 1e6;
  const mainUs = ((cpuTicks(pid, pid) - main0) / clockTicks) * 1e6;
  const gc1 = gcSummary(server.out);
  const rss = Number(/VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))![1]) / 1024;
  await stop(server);
  const prof = fs.readdirSync(server.profDir).find((f) => f.endsWith(".cpuprofile"));
  if (prof === undefined) throw new Error(`${s.name}: no profile written in ${server.profDir}`);
  const calls = run.done * (s.load.perCall ?? 1);
  const f: Figures = new Map();
  // The profile's sample times are wall time: on a shared core a sample also
  // covers time the thread waited for the CPU. So each layer gets its share
  // of the profile's busy samples times the main thread's real CPU time per
  // call (/proc/PID/task/PID/stat), which the kernel counts only while it runs.
  if (Number(args.top) > 0) hot = new Map();
  const layerTimes = [...analyse(path.join(server.profDir, prof), run.from, run.to)].filter(([l]) => l !== "idle");
  const sampled = layerTimes.reduce((a, [, us]) => a + us, 0);
  for (const [l, us] of layerTimes) f.set(l, (us / sampled) * (mainUs / calls));
  f.set("sampled", sampled / calls);
  if (hot !== undefined) {
    hotByColumn.set(s.name, [...hot].sort((a, b) => b[1] - a[1]).slice(0, Number(args.top)).map(([k, us]) => `${((us / sampled) * 100).toFixed(1).padStart(5)} %  ${k}`));
  }
  f.set("main", mainUs / calls);
  f.set("proc", procUs / calls);
  f.set("calls", calls);
  f.set("scavenges", ((gc1.scavenges - gc0.scavenges) / calls) * 1000);
  f.set("markCompacts", gc1.markCompacts - gc0.markCompacts);
  f.set("allocatedKB", ((gc1.allocatedMB - gc0.allocatedMB) * 1024) / calls);
  f.set("gcPause", ((gc1.ms - gc0.ms) * 1000) / calls);
  f.set("rss", rss);
  return f;
}

// ---- report: medians over the rounds

function f1(n: number): string {
  return n >= 10 ? n.toFixed(0) : n.toFixed(1);
}
const cols = [...runs.keys()];
const med = (key: string, row: string) => median(runs.get(key)!.map((f) => f.get(row) ?? 0));
const rows: string[][] = [];
for (const l of layers) {
  if (cols.every((c) => med(c, l) === 0)) continue;
  rows.push([l, ...cols.map((c) => f1(med(c, l)))]);
}
const extra: Array<[string, string]> = [
  ["main", "= main thread CPU µs per call (/proc; split above by profile share)"],
  ["proc", "whole process CPU µs per call (/proc: + GC helper and libuv threads)"],
  ["sampled", "(profile's busy wall µs per call, before scaling)"],
  ["calls", "calls (messages for streams) per run"],
  ["allocatedKB", "heap allocated per call, KB (trace-gc)"],
  ["scavenges", "scavenges per 1000 calls"],
  ["markCompacts", "mark-compacts per run"],
  ["gcPause", "GC pause µs per call (trace-gc)"],
  ["rss", "peak RSS, MiB (VmHWM, whole process life)"],
];
for (const [k, label] of extra) rows.push([label, ...cols.map((c) => (k === "calls" || k === "markCompacts" || k === "rss" ? String(Math.round(med(c, k))) : f1(med(c, k))))]);
console.log(`\nour server's node flags: ${serverNodeFlags.join(" ") || "none"}${baseline ? `; baseline: ${baseline} with ${baselineNodeFlags.join(" ") || "no flags"}` : ""}`);
console.log(`per-layer CPU µs per call, median of ${rounds} round(s) of ${seconds}s per column; --cpu-prof-interval ${args.interval} µs; node ${process.version}; load ${os.loadavg().map((x) => x.toFixed(2)).join(" ")}`);
console.log(`| layer | ${cols.join(" | ")} |`);
console.log(`|---|${cols.map(() => "---:").join("|")}|`);
for (const r of rows) console.log(`| ${r.join(" | ")} |`);
for (const [name, lines] of hotByColumn) console.log(`\nhottest functions (self time, share of busy samples), ${name}:\n${lines.join("\n")}`);
if (args.keep) console.log(`\nprofiles kept in ${work}`);
else fs.rmSync(work, { recursive: true, force: true });
