// The commit log on NATS JetStream with a real 3-node cluster (one per file):
// several instances serve one log; stream settings are checked at start; the
// NATS payload limit; ConsumeStreams leave no consumers behind; kill -9 of the
// stream leader while producers write; all of NATS down and back.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { Health, HealthCheckResponse_ServingStatus as ServingStatus } from "@switchboard/gen/grpc/health/v1/health_pb.js";
import { LogService } from "@switchboard/gen/log/v1/log_pb.js";
import { grpcClient } from "@switchboard/test-harness/clients";
import { eventually } from "@switchboard/test-harness/eventually";
import { startNatsCluster, type NatsCluster } from "@switchboard/test-harness/nats";
import { startServerProcess, type ServerProcess } from "@switchboard/test-harness/server-process";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array | undefined) => new TextDecoder().decode(b);

let nats: NatsCluster;
const servers: ServerProcess[] = [];
before(async () => {
  nats = await startNatsCluster();
});
after(async () => {
  await Promise.all(servers.map((s) => s.cleanup()));
  await nats.cleanup();
});

async function instance(stream: string, extra: string[] = []): Promise<ServerProcess> {
  const s = await startServerProcess({ args: ["--services", "log", "--no-request-log", "--nats", nats.urls, "--log-stream", stream, ...extra] });
  servers.push(s);
  return s;
}

async function streamInfo(stream: string) {
  const nc = await connect({ servers: nats.nodes.filter((n) => n.running).map((n) => n.url) });
  try {
    return await (await jetstreamManager(nc)).streams.info(stream);
  } finally {
    await nc.close();
  }
}

async function codeOf(p: Promise<unknown>): Promise<Code | "OK"> {
  try {
    await p;
    return "OK";
  } catch (err) {
    return ConnectError.from(err).code;
  }
}

test("instances on the same NATS serve one log: same records at the same offsets", async () => {
  const [a, b] = await Promise.all([instance("shared"), instance("shared")]);
  const ca = grpcClient(LogService, a!.url);
  const cb = grpcClient(LogService, b!.url);
  const acked: Array<[bigint, string]> = [];
  for (let i = 0; i < 20; i++) {
    const client = i % 2 === 0 ? ca : cb;
    acked.push([(await client.produce({ record: { value: enc(`r${i}`) } })).offset, `r${i}`]);
    // Read-your-writes from the other instance, at once (reads go through the stream leader).
    const other = i % 2 === 0 ? cb : ca;
    assert.equal(dec((await other.consume({ offset: acked[i]![0] })).record?.value), `r${i}`);
  }
  assert.deepEqual(acked.map(([o]) => o), Array.from({ length: 20 }, (_, i) => BigInt(i)), "dense offsets from 0 across instances");
  assert.deepEqual(await ca.getOffsets({}), await cb.getOffsets({}));
  const streamed = [];
  for await (const m of cb.consumeStream({ offset: 0n, stopAtEnd: true })) streamed.push(dec(m.record?.value));
  assert.deepEqual(streamed, acked.map(([, v]) => v));
  assert.equal((await streamInfo("shared")).config.num_replicas, 3, "R3 by default on a 3-server cluster");
});

test("an existing stream with other settings is a clear error at start, not reconfigured", async () => {
  await instance("settings");
  await assert.rejects(
    startServerProcess({ args: ["--services", "log", "--nats", nats.urls, "--log-stream", "settings", "--log-replicas", "1"], startTimeoutMs: 20_000 }),
    /NATS stream "settings" exists with num_replicas=3, but this server is configured for num_replicas=1/,
  );
  assert.equal((await streamInfo("settings")).config.num_replicas, 3, "left as it was");
});

test("a record above NATS's max payload → RESOURCE_EXHAUSTED even when --log-max-record-bytes allows it", async () => {
  const s = await instance("payload", ["--log-max-record-bytes", String(3 * 1024 * 1024)]);
  const client = grpcClient(LogService, s.url);
  const err = await client.produce({ record: { value: new Uint8Array(2 * 1024 * 1024) } }).catch((e: unknown) => ConnectError.from(e));
  assert.ok(err instanceof ConnectError);
  assert.equal(Code[err.code], "ResourceExhausted");
  assert.match(err.rawMessage, /exceeds the limit of \d+ bytes/);
  assert.equal((await client.getOffsets({})).nextOffset, 0n, "nothing stored");
});

test("hundreds of short ConsumeStreams leave no consumers behind", async () => {
  const s = await instance("consumers");
  const client = grpcClient(LogService, s.url);
  for (let i = 0; i < 5; i++) await client.produce({ record: { value: enc(`x${i}`) } });
  const one = async (i: number) => {
    const ac = new AbortController();
    const want = Math.min(2, 5 - (i % 5)); // a live stream is cancelled once it got what exists
    let got = 0;
    try {
      for await (const _ of client.consumeStream({ offset: BigInt(i % 5), stopAtEnd: i % 2 === 0 }, { signal: ac.signal })) {
        void _;
        if (++got === want) ac.abort(); // half end by cancel, half by reaching the end
      }
    } catch (err) {
      if (!ac.signal.aborted) throw err;
    }
  };
  for (let round = 0; round < 10; round++) await Promise.all(Array.from({ length: 30 }, (_, i) => one(round * 30 + i)));
  const count = await eventually(async () => {
    const n = (await streamInfo("consumers")).state.consumer_count;
    return n === 0 ? n : undefined;
  }, 15_000, "consumer_count back to 0");
  assert.equal(count, 0);
});

test("kill -9 of the stream leader while producers write: no acked record lost, produce resumes, tails continue", async () => {
  const [a, b] = await Promise.all([instance("failover"), instance("failover")]);
  const clients = [grpcClient(LogService, a!.url), grpcClient(LogService, b!.url)];
  // A live ConsumeStream on each instance, from offset 0.
  const tails = clients.map((c) => {
    const ac = new AbortController();
    const got: Array<[bigint, string]> = [];
    const done = (async () => {
      try {
        for await (const m of c.consumeStream({ offset: 0n }, { signal: ac.signal })) got.push([m.record!.offset, dec(m.record?.value)]);
      } catch (err) {
        if (!ac.signal.aborted) throw err;
      }
    })();
    done.catch(() => {}); // awaited below; a failure before that must not be an unhandled rejection
    return { ac, got, done };
  });
  const acked = new Map<bigint, string>();
  const failures = new Map<string, number>();
  const firstFailure = new Map<string, string>(); // code → its first message, for the assertion below
  let killedAt = 0;
  let resumedAfterMs = 0;
  let slowest = 0;
  let stop = false;
  const producers = Array.from({ length: 4 }, async (_, p) => {
    const client = clients[p % 2]!;
    for (let i = 0; !stop; i++) {
      const value = `p${p} #${i}`;
      const sent = Date.now();
      try {
        const { offset } = await client.produce({ record: { value: enc(value) } }, { timeoutMs: 3000 });
        assert.ok(!acked.has(offset), `offset ${offset} acknowledged twice`);
        acked.set(offset, value);
        if (killedAt > 0 && sent > killedAt && resumedAfterMs === 0) resumedAfterMs = Date.now() - killedAt;
      } catch (err) {
        const e = ConnectError.from(err);
        const name = Code[e.code]!;
        failures.set(name, (failures.get(name) ?? 0) + 1);
        if (!firstFailure.has(name)) firstFailure.set(name, `${e.message}${e.cause instanceof Error ? ` (cause: ${e.cause.message})` : ""}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      slowest = Math.max(slowest, Date.now() - sent);
    }
  });
  await eventually(() => acked.size >= 50, 20_000, "50 acknowledged records before the kill");
  const leader = await eventually(() => nats.streamLeader("failover"), 10_000, "the stream's leader");
  const victim = nats.nodes.findIndex((n) => n.name === leader);
  await nats.kill(victim, "SIGKILL");
  killedAt = Date.now();
  await eventually(() => resumedAfterMs > 0, 30_000, "an acknowledged produce sent after the kill");
  const ackedAtResume = acked.size;
  await eventually(() => acked.size >= ackedAtResume + 50, 20_000, "50 more records after resuming");
  stop = true;
  await Promise.all(producers);
  console.log(
    `failover: leader ${leader} killed; first acknowledged produce sent after the kill came ${(resumedAfterMs / 1000).toFixed(1)} s later; ` +
      `${acked.size} acked; failures meanwhile ${JSON.stringify(Object.fromEntries(failures))}; slowest call ${slowest} ms`,
  );
  for (const code of failures.keys()) {
    assert.equal(code, "Unavailable", `failures during the election are UNAVAILABLE, got ${code}: ${firstFailure.get(code)}`);
  }
  assert.ok(slowest < 3000 + 2000, `no call hung past its deadline (slowest ${slowest} ms)`);

  // Every acknowledged record, at its offset, from every instance.
  for (const client of clients) {
    for (const [offset, value] of acked) assert.equal(dec((await client.consume({ offset })).record?.value), value, `offset ${offset}`);
  }
  // The stream is dense and holds each acknowledged value once.
  const { nextOffset } = await clients[0]!.getOffsets({});
  const all: string[] = [];
  for await (const m of clients[1]!.consumeStream({ offset: 0n, stopAtEnd: true })) {
    assert.equal(m.record!.offset, BigInt(all.length), "dense");
    all.push(dec(m.record?.value));
  }
  assert.equal(BigInt(all.length), nextOffset);
  for (const value of acked.values()) assert.equal(all.filter((v) => v === value).length, 1, `${value} stored once`);
  // The live tails saw the same sequence, without gaps or duplicates.
  for (const [i, tail] of tails.entries()) {
    await eventually(() => tail.got.length >= all.length, 30_000, `tail ${i} caught up`);
    tail.ac.abort();
    await tail.done;
    assert.deepEqual(tail.got.map(([o]) => o), all.map((_, k) => BigInt(k)), `tail ${i}: no gaps or duplicates`);
    assert.deepEqual(tail.got.map(([, v]) => v), all, `tail ${i}: same records`);
  }
  await nats.restart(victim);
});

test("all of NATS down: UNAVAILABLE fast, health NOT_SERVING, both recover by themselves", async () => {
  const s = await instance("outage");
  const client = grpcClient(LogService, s.url);
  const health = grpcClient(Health, s.url);
  await client.produce({ record: { value: enc("before") } });
  assert.equal((await health.check({ service: "log.v1.LogService" })).status, ServingStatus.SERVING);
  await Promise.all(nats.nodes.map((_, i) => nats.kill(i, "SIGKILL")));
  await eventually(async () => (await health.check({ service: "log.v1.LogService" })).status === ServingStatus.NOT_SERVING, 15_000, "NOT_SERVING");
  for (const [what, call] of [
    ["Produce", () => client.produce({ record: { value: enc("during") } }, { timeoutMs: 10_000 })],
    ["Consume", () => client.consume({ offset: 0n }, { timeoutMs: 10_000 })],
    ["GetOffsets", () => client.getOffsets({}, { timeoutMs: 10_000 })],
  ] as const) {
    const started = Date.now();
    assert.equal(Code[(await codeOf(call())) as Code], "Unavailable", what);
    assert.ok(Date.now() - started < 3000, `${what} failed fast (${Date.now() - started} ms)`);
  }
  assert.equal((await health.check({ service: "" })).status, ServingStatus.SERVING, "the server itself still serves");
  await nats.restart(0, 1, 2);
  await eventually(async () => (await health.check({ service: "log.v1.LogService" })).status === ServingStatus.SERVING, 30_000, "SERVING again");
  const { offset } = await eventually(
    () => client.produce({ record: { value: enc("after") } }, { timeoutMs: 5000 }).catch(() => undefined),
    60_000,
    "a produce succeeds again",
  );
  assert.equal(dec((await client.consume({ offset })).record?.value), "after");
  assert.equal(dec((await client.consume({ offset: 0n })).record?.value), "before", "the record from before the outage");
});
