import { test } from "node:test";
import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { Code, ConnectError } from "@connectrpc/connect";
import { readBody } from "./read-body.ts";

const code = (err: unknown) => (err instanceof ConnectError ? err.code : undefined);

test("reads a body up to the limit", async () => {
  const s = new PassThrough();
  const p = readBody(s, "6", 10);
  s.write("abc");
  s.end("def");
  assert.equal((await p).toString(), "abcdef");
});

test("a declared content-length over the limit is refused before reading", async () => {
  const s = new PassThrough();
  await assert.rejects(readBody(s, "11", 10), (e) => code(e) === Code.ResourceExhausted && /message size 11 is larger/.test(String(e)));
});

test("a body that runs over is refused as soon as it does", async () => {
  const s = new PassThrough();
  const p = readBody(s, undefined, 10);
  s.write("0123456789");
  s.write("x");
  await assert.rejects(p, (e) => code(e) === Code.ResourceExhausted);
});

test("a client that goes away mid-body → CANCELED, not a hang", async () => {
  const s = new PassThrough();
  const p = readBody(s, "100", 1000);
  s.write("abc");
  s.destroy();
  await assert.rejects(p, (e) => code(e) === Code.Canceled);
});
