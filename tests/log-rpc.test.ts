// LogService over every protocol, against both log backends (embedded
// segments and NATS JetStream): produce/consume, range errors with their
// details, size limit, ConsumeStream tailing live appends, ProduceStream
// ordering, many concurrent producers and consumers; then the embedded log's
// own: shutdown of tails, restart, corruption.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { LogService, OffsetOutOfRangeSchema } from "@switchboard/gen/log/v1/log_pb.js";
import { grpcClient, transportMatrix } from "@switchboard/test-harness/clients";
import { startNatsCluster, type NatsCluster } from "@switchboard/test-harness/nats";
import { startServerProcess, type ServerProcess } from "@switchboard/test-harness/server-process";

const maxRecordBytes = 64 * 1024;
const enc = (s: string) => new TextEncoder().encode(s);

async function expectCode(p: Promise<unknown>, code: Code): Promise<ConnectError> {
  try {
    await p;
  } catch (err) {
    const ce = ConnectError.from(err);
    assert.equal(Code[ce.code], Code[code], ce.message);
    return ce;
  }
  assert.fail(`expected ${Code[code]}, got success`);
}

/** Reads a server stream until `n` messages arrived, then cancels it. */
async function take<T>(stream: AsyncIterable<T>, n: number, ac: AbortController): Promise<T[]> {
  const out: T[] = [];
  try {
    for await (const m of stream) {
      out.push(m);
      if (out.length === n) break;
    }
  } finally {
    ac.abort();
  }
  return out;
}

/** Where the server under test keeps its log: the flags that select the backend. */
interface Backend {
  name: string;
  args(): Promise<string[]>;
}

let nats: NatsCluster | undefined;
const backends: Backend[] = [
  { name: "embedded segment log", args: async () => [] },
  {
    name: "NATS JetStream (3-node cluster, R3)",
    async args() {
      nats ??= await startNatsCluster();
      return ["--nats", nats.urls, "--log-stream", "contract"];
    },
  },
];
after(() => nats?.cleanup());

// The LogService contract, run against each backend.
for (const backend of backends) describe(backend.name, () => {
  let server: ServerProcess;
  before(async () => {
    server = await startServerProcess({
      args: ["--services", "log", "--no-request-log", "--log-max-record-bytes", String(maxRecordBytes), "--log-max-segment-bytes", "8192", ...(await backend.args())],
    });
  });
  after(() => server.cleanup());

  test("an empty log: GetOffsets and Consume report emptiness", async () => {
    const client = grpcClient(LogService, server.url);
    const offsets = await client.getOffsets({});
    assert.deepEqual(
      { lowest: offsets.lowestOffset, next: offsets.nextOffset, empty: offsets.empty },
      { lowest: 0n, next: 0n, empty: true },
    );
    const err = await expectCode(client.consume({ offset: 0n }), Code.OutOfRange);
    const [detail] = err.findDetails(OffsetOutOfRangeSchema);
    assert.ok(detail, "OffsetOutOfRange detail");
    assert.equal(detail.requestedOffset, 0n);
    assert.equal(detail.empty, true);
    assert.equal(detail.nextOffset, 0n);
  });

  for (const tc of transportMatrix) {
    describe(tc.name, () => {
      let client: Client<typeof LogService>;
      before(() => {
        client = createClient(LogService, tc.make(server.url));
      });

      test("produce then consume returns the same bytes", async () => {
        const values = [enc(`hello from ${tc.name}`), new Uint8Array(0), new Uint8Array([0, 255, 1, 254]), new Uint8Array(5000).fill(7)];
        const offsets: bigint[] = [];
        for (const value of values) offsets.push((await client.produce({ record: { value } })).offset);
        for (let i = 1; i < offsets.length; i++) assert.ok(offsets[i]! > offsets[i - 1]!);
        for (const [i, offset] of offsets.entries()) {
          const res = await client.consume({ offset });
          assert.equal(res.record?.offset, offset);
          assert.deepEqual(Buffer.from(res.record!.value), Buffer.from(values[i]!), `record ${i}`);
        }
      });

      test("consume past the end → OUT_OF_RANGE with the offsets", async () => {
        const { offset } = await client.produce({ record: { value: enc("x") } });
        const err = await expectCode(client.consume({ offset: offset + 10n }), Code.OutOfRange);
        const [detail] = err.findDetails(OffsetOutOfRangeSchema);
        assert.ok(detail, "OffsetOutOfRange detail");
        assert.equal(detail.requestedOffset, offset + 10n);
        assert.equal(detail.lowestOffset, 0n);
        assert.ok(detail.highestOffset >= offset);
        assert.equal(detail.nextOffset, detail.highestOffset + 1n);
        assert.equal(detail.empty, false);
        assert.match(err.rawMessage, /out of range/);
        const huge = await expectCode(client.consume({ offset: 2n ** 63n }), Code.OutOfRange);
        assert.equal(huge.findDetails(OffsetOutOfRangeSchema)[0]?.requestedOffset, 2n ** 63n);
      });

      test("too large → RESOURCE_EXHAUSTED; missing record → INVALID_ARGUMENT", async () => {
        const err = await expectCode(client.produce({ record: { value: new Uint8Array(maxRecordBytes + 1) } }), Code.ResourceExhausted);
        assert.match(err.rawMessage, new RegExp(`limit of ${maxRecordBytes} bytes`));
        await expectCode(client.produce({}), Code.InvalidArgument);
        assert.ok((await client.produce({ record: { value: new Uint8Array(maxRecordBytes) } })).offset >= 0n, "exactly the limit is fine");
      });

      test("ConsumeStream sends existing records, then ones appended after it started", async () => {
        const first = (await client.produce({ record: { value: enc("before") } })).offset;
        const ac = new AbortController();
        const received = take(client.consumeStream({ offset: first }, { signal: ac.signal }), 4, ac);
        // The stream is open and has sent "before"; the later records wake it.
        const writer = grpcClient(LogService, server.url);
        const later: bigint[] = [];
        for (const v of ["after 1", "after 2", "after 3"]) later.push((await writer.produce({ record: { value: enc(v) } })).offset);
        const got = await received;
        assert.deepEqual(got.map((m) => m.record?.offset), [first, ...later]);
        assert.deepEqual(got.map((m) => new TextDecoder().decode(m.record?.value)), ["before", "after 1", "after 2", "after 3"]);
      });

      test("ConsumeStream with stop_at_end ends after the existing records", async () => {
        const { nextOffset } = await client.getOffsets({});
        const start = nextOffset > 3n ? nextOffset - 3n : 0n;
        const got = [];
        for await (const m of client.consumeStream({ offset: start, stopAtEnd: true })) got.push(m.record!.offset);
        assert.deepEqual(got, Array.from({ length: Number(nextOffset - start) }, (_, i) => start + BigInt(i)));
        await expectCode(
          (async () => {
            for await (const _ of client.consumeStream({ offset: nextOffset + 100n })) void _;
          })(),
          Code.OutOfRange,
        );
      });

      // Bidi streaming needs HTTP/2: over HTTP/1.1 the server refuses the call
      // before running it (HTTP 505), so nothing may be appended.
      test(`ProduceStream ${tc.fullDuplex ? "acknowledges every record in order" : "over HTTP/1.1 is refused and appends nothing"}`, async () => {
        if (!tc.fullDuplex) {
          const before = (await grpcClient(LogService, server.url).getOffsets({})).nextOffset;
          await assert.rejects(async () => {
            for await (const _ of client.produceStream((async function* () {
              yield { record: { value: enc("half-duplex") } };
            })())) void _;
          }, ConnectError);
          assert.equal((await grpcClient(LogService, server.url).getOffsets({})).nextOffset, before);
          return;
        }
        const n = 300;
        async function* requests() {
          for (let i = 0; i < n; i++) yield { record: { value: enc(`${tc.name} #${i}`) } };
        }
        const acks: bigint[] = [];
        for await (const ack of client.produceStream(requests())) acks.push(ack.offset);
        assert.equal(acks.length, n);
        for (let i = 1; i < n; i++) assert.equal(acks[i], acks[i - 1]! + 1n, "gapless and ordered (no other writer now)");
        const back = [];
        for await (const m of client.consumeStream({ offset: acks[0]!, stopAtEnd: true })) {
          if (m.record!.offset > acks[n - 1]!) break;
          back.push(new TextDecoder().decode(m.record!.value));
        }
        assert.deepEqual(back, Array.from({ length: n }, (_, i) => `${tc.name} #${i}`));
      });
    });
  }

  test("ProduceStream: an invalid record ends the stream after acknowledging the earlier ones", async () => {
    const client = grpcClient(LogService, server.url);
    async function* requests() {
      yield { record: { value: enc("ok 1") } };
      yield { record: { value: enc("ok 2") } };
      yield { record: { value: new Uint8Array(maxRecordBytes + 1) } };
      yield { record: { value: enc("never") } };
    }
    const acks: bigint[] = [];
    const err = await expectCode(
      (async () => {
        for await (const ack of client.produceStream(requests())) acks.push(ack.offset);
      })(),
      Code.ResourceExhausted,
    );
    assert.equal(acks.length, 2, err.message);
    assert.equal(new TextDecoder().decode((await client.consume({ offset: acks[1]! })).record?.value), "ok 2");
    assert.equal((await client.getOffsets({})).nextOffset, acks[1]! + 1n, "nothing after the bad record was appended");
  });

  test("ProduceStream keeps going when the client reads acknowledgements slowly (back-pressure)", async () => {
    const client = grpcClient(LogService, server.url);
    const { nextOffset: base } = await client.getOffsets({});
    const n = 3000;
    let sent = 0;
    async function* requests() {
      for (; sent < n; sent++) yield { record: { value: new Uint8Array(1000).fill(sent % 256) } };
    }
    const acks: bigint[] = [];
    let maxUnappended = 0;
    for await (const ack of client.produceStream(requests())) {
      acks.push(ack.offset);
      // A slow reader: pause now and then; the server must neither drop nor reorder.
      if (acks.length === 200 || acks.length === 1500) {
        await new Promise((r) => setTimeout(r, 200));
        // Records the client has handed over that the server has not appended
        // yet: what sits in the request buffers, windows and the service's
        // window of in-flight appends (1024). How many *acknowledged* records
        // the client has not read yet depends on the server's speed during the
        // pause (acks are 8 bytes; the response windows hold thousands), so it
        // is not what bounds memory and is not asserted. (tests/fastpath.test.ts
        // checks that a client that never reads is stopped by flow control.)
        const { nextOffset } = await client.getOffsets({});
        maxUnappended = Math.max(maxUnappended, sent - Number(nextOffset - base));
      }
    }
    assert.equal(acks.length, n);
    for (let i = 1; i < n; i++) assert.equal(acks[i], acks[0]! + BigInt(i));
    // The server reads at most 1024 records ahead of its appends; HTTP/2 flow control holds back the rest.
    assert.ok(maxUnappended < 2000, `the client could not run ahead unboundedly (max ${maxUnappended} sent, not appended)`);
    const last = await client.consume({ offset: acks[n - 1]! });
    assert.equal(last.record?.value[0], (n - 1) % 256);
  });

  test("many concurrent producers and live consumers see one gapless order", async () => {
    const producers = 16;
    const perProducer = 40;
    const consumers = 6;
    const { nextOffset: start } = await grpcClient(LogService, server.url).getOffsets({});
    const total = producers * perProducer;
    const tails = Array.from({ length: consumers }, (_, c) => {
      const tc = transportMatrix[c % transportMatrix.length]!;
      const client = createClient(LogService, tc.make(server.url));
      const ac = new AbortController();
      return take(client.consumeStream({ offset: start }, { signal: ac.signal }), total, ac);
    });
    const produced = new Map<bigint, string>();
    await Promise.all(
      Array.from({ length: producers }, async (_, p) => {
        const client = grpcClient(LogService, server.url);
        if (p % 2 === 0) {
          for (let i = 0; i < perProducer; i++) {
            const v = `p${p} r${i}`;
            produced.set((await client.produce({ record: { value: enc(v) } })).offset, v);
          }
        } else {
          async function* reqs() {
            for (let i = 0; i < perProducer; i++) yield { record: { value: enc(`p${p} r${i}`) } };
          }
          let i = 0;
          for await (const ack of client.produceStream(reqs())) produced.set(ack.offset, `p${p} r${i++}`);
        }
      }),
    );
    assert.equal(produced.size, total);
    const offsets = [...produced.keys()].sort((a, b) => (a < b ? -1 : 1));
    assert.deepEqual(offsets, Array.from({ length: total }, (_, i) => start + BigInt(i)), "gapless");
    for (const [c, got] of (await Promise.all(tails)).entries()) {
      assert.equal(got.length, total, `consumer ${c}`);
      got.forEach((m, i) => {
        assert.equal(m.record?.offset, start + BigInt(i), `consumer ${c} in order`);
        assert.equal(new TextDecoder().decode(m.record?.value), produced.get(m.record!.offset), `consumer ${c} bytes`);
      });
    }
  });

  test("a waiting ConsumeStream ends with DEADLINE_EXCEEDED at its deadline", async () => {
    const client = grpcClient(LogService, server.url);
    const { nextOffset } = await client.getOffsets({});
    const started = Date.now();
    await expectCode(
      (async () => {
        for await (const m of client.consumeStream({ offset: nextOffset }, { timeoutMs: 300 })) void m;
      })(),
      Code.DeadlineExceeded,
    );
    assert.ok(Date.now() - started >= 250, "it waited for the deadline, not less");
  });
});

test("a waiting ConsumeStream ends with UNAVAILABLE when the server shuts down; records survive restart", async (t) => {
  const own = await startServerProcess({ args: ["--services", "log", "--no-request-log"] });
  t.after(() => own.cleanup());
  const client = grpcClient(LogService, own.url);
  const { offset } = await client.produce({ record: { value: enc("kept") } });
  const tail = (async () => {
    for await (const m of client.consumeStream({ offset: 0n })) void m;
  })();
  const got = [];
  for await (const m of client.consumeStream({ offset: 0n, stopAtEnd: true })) got.push(m);
  assert.equal(got.length, 1);
  await new Promise((r) => setTimeout(r, 100)); // let the tail reach its wait
  const stopped = own.stop("SIGTERM");
  await expectCode(tail, Code.Unavailable);
  assert.equal((await stopped).code, 0);
  const again = await startServerProcess({ dataDir: own.dataDir, args: ["--services", "log", "--no-request-log"] });
  t.after(() => again.cleanup());
  const res = await grpcClient(LogService, again.url).consume({ offset });
  assert.equal(new TextDecoder().decode(res.record?.value), "kept");
});

test("a flipped byte on disk → DATA_LOSS naming segment and offset; other records still served", async (t) => {
  const args = ["--services", "log", "--no-request-log"];
  const first = await startServerProcess({ args });
  t.after(() => first.cleanup());
  const client = grpcClient(LogService, first.url);
  for (let i = 0; i < 5; i++) await client.produce({ record: { value: enc(`record ${i}`) } });
  await first.stop("SIGKILL"); // acknowledged = on disk (fsync always); no need to wait for a drain
  const file = path.join(first.dataDir, "log", "00000000000000000000.store");
  const data = fs.readFileSync(file);
  const at = 2 * (8 + "record 0".length) + 8 + 3; // inside the value of offset 2
  data[at]! ^= 0x20;
  fs.writeFileSync(file, data);
  const again = await startServerProcess({ args, dataDir: first.dataDir });
  t.after(() => again.cleanup());
  const reader = grpcClient(LogService, again.url);
  const err = await expectCode(reader.consume({ offset: 2n }), Code.DataLoss);
  assert.match(err.rawMessage, /corrupt record at offset 2 in segment log\/00000000000000000000\.store .*checksum mismatch/);
  assert.ok(!err.rawMessage.includes(first.dataDir), "no absolute server path in the error");
  assert.equal(new TextDecoder().decode((await reader.consume({ offset: 3n })).record?.value), "record 3");
  const streamed: bigint[] = [];
  await expectCode(
    (async () => {
      for await (const m of reader.consumeStream({ offset: 0n, stopAtEnd: true })) streamed.push(m.record!.offset);
    })(),
    Code.DataLoss,
  );
  assert.deepEqual(streamed, [0n, 1n], "the records before the bad one are sent, then the error");
});
