// Live ConsumeStreams of the JetStream commit log (in process, real 3-node
// NATS cluster) survive kill -9 of the NATS server they are connected to and
// that hosts some of their ephemeral consumers: every tail gets every record,
// in order, without gaps or duplicates. (That case used to stall a tail for
// good: after the reconnect the NATS client's fetch retried CONSUMER.INFO of
// the dead consumer forever, with its heartbeat check switched off.)
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { openJetStreamLog, type JetStreamLog } from "@switchboard/server/log/backend/jetstream";
import { eventually } from "@switchboard/test-harness/eventually";
import { startNatsCluster, type NatsCluster, type NatsNode } from "@switchboard/test-harness/nats";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

let nats: NatsCluster;
const logs: JetStreamLog[] = [];
before(async () => {
  nats = await startNatsCluster();
});
after(async () => {
  await Promise.all(logs.map((l) => l.close()));
  await nats.cleanup();
});

/** Consumers of `stream` whose (R1) leader is `node`, from its /jsz. */
async function consumersOn(node: NatsNode, stream: string): Promise<number> {
  type Jsz = { account_details?: Array<{ stream_detail?: Array<{ name: string; consumer_detail?: Array<{ cluster?: { leader?: string } }> }> }> };
  const res = await fetch(`http://127.0.0.1:${node.monitorPort}/jsz?accounts=true&streams=true&consumers=true`, { signal: AbortSignal.timeout(2000) });
  const jsz = (await res.json()) as Jsz;
  const streams = (jsz.account_details ?? []).flatMap((a) => a.stream_detail ?? []).filter((s) => s.name === stream);
  return streams.flatMap((s) => s.consumer_detail ?? []).filter((c) => c.cluster?.leader === node.name).length;
}

test("tails whose NATS server and consumer die continue after the failover, gap- and duplicate-free", async () => {
  const writer = await openJetStreamLog({ servers: nats.nodes.map((n) => n.url), stream: "tail", retryMs: 30_000 });
  logs.push(writer);
  for (let i = 0; i < 20; i++) assert.equal(await writer.append(enc(`r${i}`)), i);
  // The reader connects to node 0 only (it learns the others from the cluster's INFO).
  const victim = nats.nodes[0]!;
  const reader = await openJetStreamLog({ servers: [victim.url], stream: "tail" });
  logs.push(reader);
  const tail = () => {
    const ac = new AbortController();
    const got: Array<[number, string]> = [];
    const done = (async () => {
      try {
        for await (const r of reader.stream(0, { stopAtEnd: false, signal: ac.signal })) got.push([r.offset, dec(r.value)]);
      } catch (err) {
        if (!ac.signal.aborted) throw err;
      }
    })();
    done.catch(() => {}); // awaited below
    return { ac, got, done };
  };
  // Ephemeral R1 consumers land on a random replica: add tails until node 0 hosts at least one.
  const tails: Array<ReturnType<typeof tail>> = [];
  for (let i = 0; i < 24 && (tails.length < 3 || (await consumersOn(victim, "tail")) === 0); i++) {
    tails.push(tail());
    await eventually(() => tails.every((t) => t.got.length === 20), 20_000, "every tail has the first 20 records");
  }
  assert.ok((await consumersOn(victim, "tail")) > 0, "some consumer on the server to kill");

  await nats.kill(0, "SIGKILL");
  for (let i = 20; i < 40; i++) assert.equal(await writer.append(enc(`r${i}`)), i, "dense offsets through the failover");
  const want = Array.from({ length: 40 }, (_, i): [number, string] => [i, `r${i}`]);
  for (const [i, t] of tails.entries()) {
    // A tail that fails shows its own error, not a wait that times out.
    await Promise.race([
      eventually(() => t.got.length >= 40, 45_000, `tail ${i} got the 20 records written after the kill`),
      t.done.then(() => assert.fail(`tail ${i} ended early`)),
    ]);
    t.ac.abort();
    await t.done;
    assert.deepEqual(t.got, want, `tail ${i}: every record once, in order`);
  }
  await nats.restart(0);
});
