// Fairness under many streams (issue 13 §2) — not a test. The attack: many
// ConsumeStream connections over a log of 1-KiB records, half of them reading
// as fast as they can (re-reading from offset 0 each time they reach the end),
// half never reading (flow control holds them). Meanwhile probes call Produce
// (1 KiB) and GetOffsets one after another on their own connection and record
// their latency; the server's RSS is sampled from /proc.
//
// The same attack, with the same client code, runs against:
//  - our server (node server/src/main.ts, --log-fsync never, so Produce costs
//    what the in-memory peer's does: no fsync in either)
//  - an independent @grpc/grpc-js server of the same log contract
//    (bench/peers/grpc-log-server.ts, records in memory)
//  - our server again with the probes over the Connect protocol (h2c,
//    application/proto) — grpc-js has no Connect, so that row has no peer.
// It prints both servers' probe p50/p99/max and RSS growth side by side with
// the ratios, and the yardstick: each probe's p99 ≤ 2× grpc-js's and < 1 s,
// RSS growth ≤ 1.5× grpc-js's.
//
//   node bench/fairness.ts [--streams 200] [--records 2000] [--value-bytes 1024] [--seconds 10]
import { spawn } from "node:child_process";
import fs from "node:fs";
import http2 from "node:http2";
import path from "node:path";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { create, toBinary } from "@bufbuild/protobuf";
import { ConsumeStreamRequestSchema, GetOffsetsRequestSchema, ProduceRequestSchema } from "@switchboard/gen/log/v1/log_pb.js";
import { envelope } from "./grpc-h2-client.ts";
import { startServerProcess } from "@switchboard/test-harness/server-process";

const { values: flags } = parseArgs({
  options: {
    streams: { type: "string", default: "200" },
    records: { type: "string", default: "2000" },
    "value-bytes": { type: "string", default: "1024" },
    seconds: { type: "string", default: "10" },
  },
});
const streams = Number(flags.streams);
const records = Number(flags.records);
const valueBytes = Number(flags["value-bytes"]);
const seconds = Number(flags.seconds);
const root = path.join(import.meta.dirname, "..");

const value = new Uint8Array(valueBytes).fill(0x61);
const produceMsg = toBinary(ProduceRequestSchema, create(ProduceRequestSchema, { record: { value } }));
const offsetsMsg = toBinary(GetOffsetsRequestSchema, create(GetOffsetsRequestSchema, {}));
const consumeMsg = toBinary(ConsumeStreamRequestSchema, create(ConsumeStreamRequestSchema, { offset: 0n, stopAtEnd: true }));
const svc = "/log.v1.LogService";

type Protocol = "grpc" | "connect";

/** One unary call; resolves with its latency in ms (rejects on a non-OK answer). */
function unary(session: http2.ClientHttp2Session, method: string, msg: Uint8Array, protocol: Protocol): Promise<number> {
  const start = performance.now();
  return new Promise((resolve, reject) => {
    const headers =
      protocol === "grpc"
        ? { ":method": "POST", ":path": `${svc}/${method}`, "content-type": "application/grpc", te: "trailers" }
        : { ":method": "POST", ":path": `${svc}/${method}`, "content-type": "application/proto", "connect-protocol-version": "1" };
    const req = session.request(headers);
    let ok = false;
    req.on("response", (h) => {
      ok = protocol === "grpc" ? h["grpc-status"] === undefined || h["grpc-status"] === "0" : h[":status"] === 200;
    });
    req.on("trailers", (h) => (ok = ok && (h["grpc-status"] === undefined || h["grpc-status"] === "0")));
    req.on("data", () => {});
    req.on("end", () => (ok ? resolve(performance.now() - start) : reject(new Error(`${method} failed`))));
    req.on("error", reject);
    req.end(protocol === "grpc" ? envelope(msg) : Buffer.from(msg));
  });
}

/** The attack: `streams` connections, half re-reading the log as fast as they can, half never reading. */
function attack(url: string, stop: AbortSignal): { bytes: () => number; done: Promise<void> } {
  let bytes = 0;
  const sessions: http2.ClientHttp2Session[] = [];
  const loops: Array<Promise<void>> = [];
  const open = (session: http2.ClientHttp2Session) =>
    session.request({ ":method": "POST", ":path": `${svc}/ConsumeStream`, "content-type": "application/grpc", te: "trailers" });
  for (let i = 0; i < streams; i++) {
    const session = http2.connect(url);
    session.on("error", () => {});
    sessions.push(session);
    if (i % 2 === 1) {
      const req = open(session);
      req.on("error", () => {});
      req.pause(); // never reads: flow control fills and holds
      req.end(envelope(consumeMsg));
      continue;
    }
    loops.push(
      (async () => {
        while (!stop.aborted && !session.destroyed) {
          await new Promise<void>((resolve) => {
            const req = open(session);
            req.on("data", (c: Buffer) => (bytes += c.length));
            req.on("close", () => resolve());
            req.on("error", () => {});
            req.end(envelope(consumeMsg));
          });
        }
      })(),
    );
  }
  const done = (async () => {
    await new Promise<void>((r) => stop.addEventListener("abort", () => r(), { once: true }));
    for (const s of sessions) s.destroy();
    await Promise.all(loops);
  })();
  return { bytes: () => bytes, done };
}

function rss(pid: number): number {
  try {
    return Number(/VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))![1]) * 1024;
  } catch {
    return 0;
  }
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

interface Figures {
  name: string;
  probes: Record<string, { n: number; failed: number; p50: number; p99: number; max: number }>;
  rssGrowthMiB: number;
  attackMiBps: number;
}

/** Runs the attack against `url` (server process `pid`) for `seconds` while probing. */
async function measure(name: string, url: string, pid: number, protocol: Protocol): Promise<Figures> {
  const probeSession = http2.connect(url);
  probeSession.on("error", () => {});
  for (let i = 0; i < 50; i++) await unary(probeSession, "GetOffsets", offsetsMsg, protocol); // warm-up
  // A short unmeasured attack first, so neither server (nor this client) is measured cold.
  const warm = new AbortController();
  const w = attack(url, warm.signal);
  await new Promise((r) => setTimeout(r, 2_000));
  warm.abort();
  await w.done;
  await new Promise((r) => setTimeout(r, 1_000));
  const baseline = rss(pid);
  let peak = baseline;
  const sampler = setInterval(() => (peak = Math.max(peak, rss(pid))), 50);
  const stop = new AbortController();
  const a = attack(url, stop.signal);
  const lat: Record<string, number[]> = { Produce: [], GetOffsets: [] };
  const failed: Record<string, number> = { Produce: 0, GetOffsets: 0 };
  const end = performance.now() + seconds * 1000;
  const probe = async (method: "Produce" | "GetOffsets", msg: Uint8Array) => {
    while (performance.now() < end) {
      try {
        lat[method]!.push(await unary(probeSession, method, msg, protocol));
      } catch {
        failed[method]!++;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  await Promise.all([probe("Produce", produceMsg), probe("GetOffsets", offsetsMsg)]);
  const attackBytes = a.bytes();
  stop.abort();
  await a.done;
  clearInterval(sampler);
  probeSession.destroy();
  const probes: Figures["probes"] = {};
  for (const m of Object.keys(lat)) {
    const xs = lat[m]!;
    probes[m] = { n: xs.length, failed: failed[m]!, p50: pct(xs, 50), p99: pct(xs, 99), max: Math.max(...xs) };
  }
  return { name, probes, rssGrowthMiB: (peak - baseline) / 2 ** 20, attackMiBps: attackBytes / 2 ** 20 / seconds };
}

/** Starts the grpc-js peer; resolves with its URL and pid. */
async function startPeer(): Promise<{ url: string; pid: number; stop: () => void }> {
  const child = spawn(process.execPath, [path.join(root, "bench/peers/grpc-log-server.ts"), String(records), String(valueBytes)], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const port = await new Promise<number>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on("line", (l) => {
      const m = /^port (\d+)/.exec(l);
      if (m) resolve(Number(m[1]));
    });
    child.once("exit", () => reject(new Error("grpc-js peer exited")));
  });
  return { url: `http://127.0.0.1:${port}`, pid: child.pid!, stop: () => child.kill("SIGKILL") };
}

async function main(): Promise<void> {
  console.log(
    `fairness: ${streams} ConsumeStream connections (half reading, half never reading) over ${records} records of ${valueBytes} B, ` +
      `${seconds} s per server; probes: Produce (${valueBytes} B) and GetOffsets, one at a time each, 10 ms apart`,
  );
  const ours = await startServerProcess({ args: ["--services", "log", "--no-request-log", "--log-fsync", "never"] });
  const results: Figures[] = [];
  try {
    const fill = http2.connect(ours.url);
    fill.on("error", () => {});
    for (let i = 0; i < records; i += 50) {
      await Promise.all(Array.from({ length: Math.min(50, records - i) }, () => unary(fill, "Produce", produceMsg, "grpc")));
    }
    fill.destroy();
    results.push(await measure("switchboard (gRPC)", ours.url, ours.pid, "grpc"));
    const peer = await startPeer();
    try {
      results.push(await measure("grpc-js (gRPC)", peer.url, peer.pid, "grpc"));
    } finally {
      peer.stop();
    }
    results.push(await measure("switchboard (Connect)", ours.url, ours.pid, "connect"));
  } finally {
    await ours.cleanup();
  }

  const [us, them, connect] = results as [Figures, Figures, Figures];
  const ms = (x: number) => `${x.toFixed(1)} ms`;
  console.log("\n| server | probe | calls (failed) | p50 | p99 | max |");
  console.log("|---|---|---|---|---|---|");
  for (const f of results) {
    for (const [m, p] of Object.entries(f.probes)) {
      console.log(`| ${f.name} | ${m} | ${p.n} (${p.failed}) | ${ms(p.p50)} | ${ms(p.p99)} | ${ms(p.max)} |`);
    }
  }
  console.log("\n| server | RSS growth | attack read rate |");
  console.log("|---|---|---|");
  for (const f of results) console.log(`| ${f.name} | ${f.rssGrowthMiB.toFixed(1)} MiB | ${f.attackMiBps.toFixed(1)} MiB/s |`);
  console.log("\nyardstick (ours vs grpc-js, same attack, same run):");
  for (const m of Object.keys(us.probes)) {
    const r = us.probes[m]!.p99 / them.probes[m]!.p99;
    const ok = r <= 2 && us.probes[m]!.p99 < 1000;
    console.log(`  ${m} p99 ${ms(us.probes[m]!.p99)} vs ${ms(them.probes[m]!.p99)}: ${r.toFixed(2)}× (≤ 2× and < 1 s: ${ok ? "met" : "MISSED"})`);
    console.log(`  ${m} p99 over Connect ${ms(connect.probes[m]!.p99)} (< 1 s: ${connect.probes[m]!.p99 < 1000 ? "met" : "MISSED"})`);
  }
  const g = us.rssGrowthMiB / Math.max(them.rssGrowthMiB, 1);
  console.log(
    `  RSS growth ${us.rssGrowthMiB.toFixed(1)} vs ${them.rssGrowthMiB.toFixed(1)} MiB: ${g.toFixed(2)}× (≤ 1.5×: ${g <= 1.5 ? "met" : "MISSED"})`,
  );
}

await main();
