import { test } from "node:test";
import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { create, toBinary, type Message } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { createMethodSerializationLookup } from "@connectrpc/connect/protocol";
import { OrderService, ProcessOrdersRequestSchema, type ProcessOrdersRequest } from "@switchboard/gen/order/v1/order_pb.js";
import { compressionGzip } from "@connectrpc/connect-node";
import { RequestStream } from "./request-stream.ts";

const serialization = createMethodSerializationLookup(OrderService.method.processOrders, undefined, undefined, {
  readMaxBytes: 1 << 20,
  writeMaxBytes: 1 << 20,
}).getI(true) as never;

function frame(orderId: string, gzip = false): Buffer {
  let bytes: Uint8Array = toBinary(ProcessOrdersRequestSchema, create(ProcessOrdersRequestSchema, { orderId }));
  if (gzip) bytes = gzipSync(bytes);
  const out = Buffer.alloc(5 + bytes.length);
  out[0] = gzip ? 1 : 0;
  out.writeUInt32BE(bytes.length, 1);
  out.set(bytes, 5);
  return out;
}

/** Feeds `body` in chunks of `chunk` bytes, ends, and reads everything. */
async function readAll(
  body: Buffer,
  chunk: number,
  opts: { readMaxBytes?: number; gzip?: boolean } = {},
): Promise<{ ids: string[]; error?: ConnectError; pauses: number; resumes: number }> {
  let pauses = 0;
  let resumes = 0;
  const rs = new RequestStream(
    { pause: () => pauses++, resume: () => resumes++ },
    serialization,
    opts.readMaxBytes ?? 1 << 20,
    opts.gzip === true ? compressionGzip : null,
  );
  for (let i = 0; i < body.length; i += chunk) rs.push(body.subarray(i, i + chunk));
  rs.end();
  const ids: string[] = [];
  try {
    for await (const m of rs as AsyncIterable<Message>) ids.push((m as ProcessOrdersRequest).orderId);
  } catch (err) {
    return { ids, error: ConnectError.from(err), pauses, resumes };
  }
  return { ids, pauses, resumes };
}

const three = Buffer.concat([frame("a"), frame("bb"), frame("c".repeat(300))]);

test("envelopes split at any chunk boundary come out whole and in order", async () => {
  for (const chunk of [1, 2, 3, 5, 7, 64, three.length]) {
    const r = await readAll(three, chunk);
    assert.equal(r.error, undefined, `chunk ${chunk}`);
    assert.deepEqual(r.ids, ["a", "bb", "c".repeat(300)], `chunk ${chunk}`);
  }
});

test("errors are thrown from the iterator, after the messages before them", async () => {
  const cases: Array<{ name: string; body: Buffer; opts?: { readMaxBytes?: number; gzip?: boolean }; ids: string[]; code?: Code }> = [
    { name: "empty stream", body: Buffer.alloc(0), ids: [] },
    { name: "truncated envelope", body: Buffer.concat([frame("a"), frame("b").subarray(0, 6)]), ids: ["a"], code: Code.InvalidArgument },
    { name: "truncated prefix", body: Buffer.concat([frame("a"), Buffer.from([0, 0])]), ids: ["a"], code: Code.InvalidArgument },
    { name: "oversized", body: Buffer.concat([frame("a"), frame("x".repeat(100))]), opts: { readMaxBytes: 50 }, ids: ["a"], code: Code.ResourceExhausted },
    { name: "compressed without grpc-encoding", body: Buffer.concat([frame("a"), frame("b", true)]), ids: ["a"], code: Code.Internal },
    { name: "compressed with gzip", body: Buffer.concat([frame("a", true), frame("b")]), opts: { gzip: true }, ids: ["a", "b"] },
  ];
  for (const c of cases) {
    const r = await readAll(c.body, 4, c.opts);
    assert.deepEqual(r.ids, c.ids, c.name);
    assert.equal(r.error?.code, c.code, `${c.name}: ${r.error?.message}`);
  }
});

test("pauses the source when unread messages pile up, resumes once they are taken", async () => {
  const many = Buffer.concat(Array.from({ length: 1000 }, (_, i) => frame(String(i))));
  const r = await readAll(many, 1024);
  assert.equal(r.ids.length, 1000);
  assert.ok(r.pauses >= 1, "paused");
  assert.equal(r.resumes, r.pauses, "every pause resumed");
});

test("abort rejects a waiting reader; return() stops buffering", async () => {
  const rs = new RequestStream({ pause() {}, resume() {} }, serialization, 1 << 20, null);
  const waiting = rs.next();
  rs.abort(new ConnectError("client canceled the call", Code.Canceled));
  await assert.rejects(waiting, (e: unknown) => ConnectError.from(e).code === Code.Canceled);
  const rs2 = new RequestStream({ pause() {}, resume() {} }, serialization, 1 << 20, null);
  rs2.push(frame("a"));
  await rs2.return();
  rs2.push(frame("b"));
  assert.deepEqual(await rs2.next(), { done: true, value: undefined });
});
