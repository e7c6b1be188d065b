import { test } from "node:test";
import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { Code, ConnectError } from "@connectrpc/connect";
import { compressionBrotli, compressionGzip } from "@connectrpc/connect-node";
import { encodeEnvelope as connectEncodeEnvelope } from "@connectrpc/connect/protocol";
import { negotiateCompression } from "./compression.ts";
import { encodeEnvelope, EnvelopeSplitter, parseEnvelope } from "./envelope.ts";

const bytes = (s: string) => new Uint8Array(Buffer.from(s));
const identity = { parse: (b: Uint8Array) => Buffer.from(b).toString(), serialize: (s: string) => bytes(s) };

test("encodeEnvelope writes what connect's encodeEnvelope writes", () => {
  for (const s of ["", "a", "x".repeat(70_000)]) {
    assert.deepEqual(new Uint8Array(encodeEnvelope(bytes(s), false)), connectEncodeEnvelope(0, bytes(s)));
    assert.deepEqual(new Uint8Array(encodeEnvelope(bytes(s), true)), connectEncodeEnvelope(1, bytes(s)));
  }
});

test("EnvelopeSplitter: envelopes split across and within chunks, byte by byte or all at once", () => {
  const body = Buffer.concat(["one", "", "three", "y".repeat(300)].map((s) => encodeEnvelope(bytes(s), false)));
  for (const size of [1, 2, 5, 7, 64, body.length]) {
    const sp = new EnvelopeSplitter(1024);
    const got: string[] = [];
    for (let i = 0; i < body.length; i += size) {
      sp.push(body.subarray(i, i + size));
      for (let env = sp.next(); env !== undefined; env = sp.next()) got.push(env.subarray(5).toString());
    }
    assert.deepEqual(got, ["one", "", "three", "y".repeat(300)], `chunks of ${size}`);
    assert.equal(sp.bufferedBytes, 0);
  }
});

test("EnvelopeSplitter: an oversized declared length fails as soon as its prefix arrives", () => {
  const sp = new EnvelopeSplitter(10);
  sp.push(encodeEnvelope(bytes("ok"), false));
  sp.push(encodeEnvelope(bytes("x".repeat(11)), false).subarray(0, 5));
  assert.equal(sp.next()?.subarray(5).toString(), "ok");
  assert.throws(
    () => sp.next(),
    (e: unknown) => e instanceof ConnectError && e.code === Code.ResourceExhausted && /message size 11 is larger than configured readMaxBytes 10/.test(e.message),
  );
});

test("EnvelopeSplitter: an incomplete envelope stays buffered", () => {
  const sp = new EnvelopeSplitter(100);
  sp.push(encodeEnvelope(bytes("abc"), false).subarray(0, 6));
  assert.equal(sp.next(), undefined);
  assert.equal(sp.bufferedBytes, 6);
  sp.clear();
  assert.equal(sp.bufferedBytes, 0);
});

test("parseEnvelope: plain synchronously, gzip through connect, compressed without compression is INTERNAL", async () => {
  assert.equal(parseEnvelope(encodeEnvelope(bytes("hi"), false), identity, null, 100), "hi");
  let marked = false;
  const z = parseEnvelope(encodeEnvelope(gzipSync("hi"), true), identity, compressionGzip, 100, () => (marked = true));
  assert.ok(z instanceof Promise);
  assert.equal(await z, "hi");
  assert.ok(marked);
  await assert.rejects(
    Promise.resolve(parseEnvelope(encodeEnvelope(gzipSync("hi"), true), identity, null, 100)),
    (e: unknown) => e instanceof ConnectError && e.code === Code.Internal,
  );
  await assert.rejects(
    Promise.resolve(parseEnvelope(encodeEnvelope(gzipSync("x".repeat(200)), true), identity, compressionGzip, 100)),
    (e: unknown) => e instanceof ConnectError && e.code === Code.ResourceExhausted,
  );
});

test("negotiateCompression: connect's rules over gzip; other encodings are left to connect-node", () => {
  const n = (enc?: string, accept?: string) =>
    negotiateCompression({ "grpc-encoding": enc, "grpc-accept-encoding": accept }, "grpc-encoding", "grpc-accept-encoding");
  assert.deepEqual(n(), { request: null, response: null, error: undefined });
  assert.equal(n("gzip")?.response, compressionGzip, "a gzip request without an accept header gets gzip back");
  assert.equal(n("identity", "identity,deflate,gzip")?.response, compressionGzip);
  assert.equal(n(undefined, "br")?.response, null);
  assert.equal(n("gzip", "identity")?.response, null);
  assert.equal(n(compressionBrotli.name), undefined);
  assert.equal(n(""), undefined);
});
