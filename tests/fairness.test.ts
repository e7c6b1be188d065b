// Fair service under many streams (issue 13 §2), functional part: consumers
// that never read do not stop other calls (also on their own connection),
// --max-concurrent-streams is sent in SETTINGS and --max-connections refuses
// connections beyond the limit. The load comparison with grpc-js is
// bench/fairness.ts (a benchmark, not a test).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import * as http2 from "node:http2";
import { create, toBinary } from "@bufbuild/protobuf";
import { ConsumeStreamRequestSchema, LogService } from "@switchboard/gen/log/v1/log_pb.js";
import { grpcClient } from "@switchboard/test-harness/clients";
import { grpcFrame } from "@switchboard/test-harness/raw-http2";
import { startServerProcess, type ServerProcess } from "@switchboard/test-harness/server-process";

let server: ServerProcess;
const records = 300;
before(async () => {
  server = await startServerProcess({
    args: ["--services", "log", "--no-request-log", "--log-fsync", "never", "--max-concurrent-streams", "16"],
  });
  const client = grpcClient(LogService, server.url);
  const value = new Uint8Array(1024).fill(0x61);
  // 10 at a time: below --max-concurrent-streams even before the client has seen the SETTINGS.
  for (let i = 0; i < records; i += 10) await Promise.all(Array.from({ length: 10 }, () => client.produce({ record: { value } })));
});
after(() => server?.cleanup());

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what} not within ${ms} ms`)), ms))]);
}

const consume = grpcFrame(toBinary(ConsumeStreamRequestSchema, create(ConsumeStreamRequestSchema, { offset: 0n, stopAtEnd: true })));
const open = (session: http2.ClientHttp2Session) => {
  const req = session.request({ ":method": "POST", ":path": "/log.v1.LogService/ConsumeStream", "content-type": "application/grpc", te: "trailers" });
  req.on("error", () => {});
  req.end(consume);
  return req;
};

test("consumers that never read do not stop unary calls or a reading consumer on the same connection", async () => {
  const sessions: http2.ClientHttp2Session[] = [];
  try {
    for (let i = 0; i < 20; i++) {
      const s = http2.connect(server.url);
      s.on("error", () => {});
      sessions.push(s);
      for (let j = 0; j < 4; j++) open(s).pause(); // never read: flow control fills
    }
    // Give the server time to fill every window it can.
    const shared = sessions[0]!;
    const client = grpcClient(LogService, server.url);
    for (let i = 0; i < 20; i++) {
      const { offset } = await within(client.produce({ record: { value: new TextEncoder().encode(`probe ${i}`) } }), 20_000, "Produce");
      assert.equal(new TextDecoder().decode((await within(client.consume({ offset }), 20_000, "Consume")).record?.value), `probe ${i}`);
    }
    // A reader on a connection whose other streams are stuck still gets every record.
    const reader = open(shared);
    let bytes = 0;
    reader.on("data", (c: Buffer) => (bytes += c.length));
    await within(new Promise<void>((r) => reader.once("close", () => r())), 30_000, "the reading stream");
    assert.ok(bytes >= records * (1024 + 5), `got ${bytes} bytes`);
  } finally {
    for (const s of sessions) s.destroy();
  }
});

test("--max-concurrent-streams is sent in SETTINGS", async () => {
  const s = http2.connect(server.url);
  s.on("error", () => {});
  try {
    await within(new Promise<void>((r) => s.once("remoteSettings", () => r())), 10_000, "SETTINGS");
    assert.equal(s.remoteSettings.maxConcurrentStreams, 16);
  } finally {
    s.destroy();
  }
});

test("--max-connections: a connection beyond the limit is closed; room again once one closes", async (t) => {
  // A server of its own, so no other test's client connection counts.
  const limited = await startServerProcess({ args: ["--services", "log", "--no-request-log", "--max-connections", "5"] });
  t.after(() => limited.cleanup());
  const sessions: http2.ClientHttp2Session[] = [];
  const ping = (s: http2.ClientHttp2Session) =>
    new Promise<boolean>((resolve) => {
      s.once("close", () => resolve(false));
      s.once("error", () => resolve(false));
      s.once("remoteSettings", () => resolve(true));
    });
  try {
    for (let i = 0; i < 5; i++) {
      const s = http2.connect(limited.url);
      sessions.push(s);
      assert.equal(await within(ping(s), 10_000, `connection ${i}`), true, `connection ${i} within the limit`);
    }
    const extra = http2.connect(limited.url);
    sessions.push(extra);
    assert.equal(await within(ping(extra), 10_000, "the extra connection"), false, "the 6th connection is closed");
    sessions[0]!.destroy();
    const again = await within(
      (async () => {
        for (;;) {
          const s = http2.connect(limited.url);
          sessions.push(s);
          if (await ping(s)) return true;
          await new Promise((r) => setTimeout(r, 100));
        }
      })(),
      10_000,
      "a new connection after one closed",
    );
    assert.equal(again, true);
  } finally {
    for (const s of sessions) s.destroy();
  }
});
