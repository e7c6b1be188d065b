import { test } from "node:test";
import assert from "node:assert/strict";
import { Code, ConnectError } from "@connectrpc/connect";
import { codeName, describeError } from "./errors.ts";
import { UsageError } from "./exit-codes.ts";
import { formatBytes, formatCents, formatDuration, formatTable } from "./format.ts";

test("formatCents", () => {
  const cases: Array<[bigint, string]> = [[0n, "$0.00"], [7n, "$0.07"], [180000n, "$1,800.00"], [123456789n, "$1,234,567.89"], [-250n, "-$2.50"]];
  for (const [cents, text] of cases) assert.equal(formatCents(cents), text);
});

test("formatBytes: text when printable UTF-8, else base64", () => {
  const cases: Array<[Uint8Array, string]> = [
    [new TextEncoder().encode("héllo"), "héllo"],
    [new TextEncoder().encode("a\nb"), "a\\nb"],
    [new Uint8Array([0xff, 0x00]), "base64:/wA="],
    [new Uint8Array([0x1b, 0x5b]), "base64:G1s="],
  ];
  for (const [bytes, text] of cases) assert.equal(formatBytes(bytes), text);
});

test("formatDuration and formatTable", () => {
  const d = (seconds: bigint, nanos = 0) => ({ seconds, nanos }) as Parameters<typeof formatDuration>[0];
  assert.equal(formatDuration(d(0n, 250_000_000)), "250ms");
  assert.equal(formatDuration(d(1n, 500_000_000)), "1.5s");
  assert.equal(formatDuration(d(150n)), "2m30s");
  assert.equal(formatDuration(undefined), "-");
  assert.equal(formatTable(["A", "BB"], [["xxx", "y"], ["z", ""]]), "A    BB\nxxx  y\nz\n");
});

test("codeName and describeError: exit 1 for RPC errors, 2 for usage errors", () => {
  assert.equal(codeName(Code.InvalidArgument), "INVALID_ARGUMENT");
  assert.equal(codeName(Code.DeadlineExceeded), "DEADLINE_EXCEEDED");
  assert.equal(codeName(Code.NotFound), "NOT_FOUND");
  const rpc = describeError(new ConnectError("order \"x\" not found", Code.NotFound));
  assert.deepEqual([rpc.exitCode, rpc.lines], [1, ['error: NOT_FOUND: order "x" not found']]);
  const usage = describeError(new UsageError("bad line"));
  assert.deepEqual([usage.exitCode, usage.json], [2, { error: { code: "USAGE", message: "bad line" } }]);
  const unknown = describeError(new Error("boom"));
  assert.equal(unknown.exitCode, 1);
  assert.match(unknown.lines[0]!, /^error: UNKNOWN: boom$/);
});
