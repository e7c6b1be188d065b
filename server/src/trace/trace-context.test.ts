import { test } from "node:test";
import assert from "node:assert/strict";
import { continueTrace, formatTraceparent, parseTraceparent, randomHex } from "./trace-context.ts";

const tid = "4bf92f3577b34da6a3ce929d0e0e4736";
const pid = "00f067aa0ba902b7";

test("parseTraceparent accepts W3C traceparent and rejects invalid ones", () => {
  assert.deepEqual(parseTraceparent(`00-${tid}-${pid}-01`), { traceId: tid, parentSpanId: pid, flags: "01" });
  // A later version may append fields.
  assert.deepEqual(parseTraceparent(`01-${tid}-${pid}-00-extra`), { traceId: tid, parentSpanId: pid, flags: "00" });
  for (const bad of [
    undefined,
    "",
    `00-${tid}-${pid}-01-extra`, // version 00 has exactly four fields
    `ff-${tid}-${pid}-01`, // version ff is invalid
    `00-${"0".repeat(32)}-${pid}-01`, // all-zero trace id
    `00-${tid}-${"0".repeat(16)}-01`, // all-zero parent id
    `00-${tid.toUpperCase()}-${pid}-01`, // upper-case hex
    `00-${tid.slice(1)}-${pid}-01`,
    "garbage",
  ]) {
    assert.equal(parseTraceparent(bad), undefined, String(bad));
  }
});

test("continueTrace keeps the caller's trace or starts a new one (dropping tracestate of an invalid parent)", () => {
  const c = continueTrace(`00-${tid}-${pid}-01`, "vendor=1");
  assert.equal(c.traceId, tid);
  assert.equal(c.parentSpanId, pid);
  assert.match(c.spanId, /^[0-9a-f]{16}$/);
  assert.notEqual(c.spanId, pid);
  assert.equal(c.traceState, "vendor=1");
  assert.equal(formatTraceparent(c), `00-${tid}-${c.spanId}-01`);

  const n = continueTrace("nonsense", "vendor=1");
  assert.match(n.traceId, /^[0-9a-f]{32}$/);
  assert.equal(n.parentSpanId, undefined);
  assert.equal(n.traceState, undefined);
  assert.notEqual(continueTrace(null, null).traceId, n.traceId);
});

test("randomHex gives distinct non-zero ids across pool refills", () => {
  const ids = new Set<string>();
  for (let i = 0; i < 1000; i++) ids.add(randomHex(16));
  assert.equal(ids.size, 1000);
  for (const id of ids) assert.match(id, /^(?!0+$)[0-9a-f]{32}$/);
});
