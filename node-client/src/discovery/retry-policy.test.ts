import { test } from "node:test";
import assert from "node:assert/strict";
import { Code, ConnectError } from "@connectrpc/connect";
import { LogService } from "@switchboard/gen/log/v1/log_pb.js";
import { OrderService } from "@switchboard/gen/order/v1/order_pb.js";
import { failedBeforeProcessing, isConnectionFailure, isIdempotent, isRetryable } from "./retry-policy.ts";

function nodeError(code: string): Error {
  return Object.assign(new Error(`connect ${code} 127.0.0.1:1`), { code });
}
function wrapped(code: Code, cause: Error): ConnectError {
  const ce = new ConnectError(cause.message, code);
  ce.cause = cause;
  return ce;
}

const getOrder = OrderService.method.getOrder; // NO_SIDE_EFFECTS
const addOrder = OrderService.method.addOrder; // no idempotency level

test("isIdempotent reads the method's idempotency_level", () => {
  assert.equal(isIdempotent(getOrder), true);
  assert.equal(isIdempotent(addOrder), false);
});

test("classification of failures", async (t) => {
  const cases: Array<{ name: string; err: unknown; before: boolean; conn: boolean; retryGet: boolean; retryAdd: boolean }> = [
    { name: "connection refused", err: wrapped(Code.Unavailable, nodeError("ECONNREFUSED")), before: true, conn: true, retryGet: true, retryAdd: true },
    { name: "unknown host", err: wrapped(Code.Unavailable, nodeError("ENOTFOUND")), before: true, conn: true, retryGet: true, retryAdd: true },
    { name: "REFUSED_STREAM", err: new ConnectError("http/2 stream closed with error code REFUSED_STREAM (0x7)", Code.Unavailable), before: true, conn: true, retryGet: true, retryAdd: true },
    { name: "connection reset mid-call", err: wrapped(Code.Aborted, nodeError("ECONNRESET")), before: false, conn: true, retryGet: true, retryAdd: false },
    { name: "server says UNAVAILABLE", err: new ConnectError("server is shutting down", Code.Unavailable), before: false, conn: false, retryGet: true, retryAdd: false },
    { name: "application error", err: new ConnectError("no order 9", Code.NotFound), before: false, conn: false, retryGet: false, retryAdd: false },
    { name: "deadline", err: new ConnectError("deadline", Code.DeadlineExceeded), before: false, conn: false, retryGet: false, retryAdd: false },
    { name: "http/2 stream canceled (peer died)", err: new ConnectError("http/2 stream closed with error code CANCEL (0x8)", Code.Canceled), before: false, conn: false, retryGet: true, retryAdd: false },
    { name: "plain Error", err: new Error("boom"), before: false, conn: false, retryGet: false, retryAdd: false },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      assert.equal(failedBeforeProcessing(c.err), c.before, "failedBeforeProcessing");
      assert.equal(isConnectionFailure(c.err), c.conn, "isConnectionFailure");
      assert.equal(isRetryable(c.err, getOrder), c.retryGet, "retryable for GetOrder");
      assert.equal(isRetryable(c.err, addOrder), c.retryAdd, "retryable for AddOrder");
    });
  }
});

test("a Produce that may have been applied is never retried (no duplicate records)", () => {
  const produce = LogService.method.produce;
  assert.equal(isIdempotent(produce), false, "Produce appends: not idempotent");
  assert.equal(isIdempotent(LogService.method.produceStream), false);
  // What the JetStream log answers when the publish's ack did not come in time: the record may be stored.
  const timedOut = new ConnectError('produce failed: the NATS JetStream stream "switchboard-log" did not answer in time (last error: TIMEOUT)', Code.Unavailable);
  assert.equal(isRetryable(timedOut, produce), false);
  assert.equal(isRetryable(wrapped(Code.Aborted, nodeError("ECONNRESET")), produce), false, "connection broke mid-call");
  assert.equal(isRetryable(wrapped(Code.Unavailable, nodeError("ECONNREFUSED")), produce), true, "never reached a server");
  assert.equal(isRetryable(timedOut, LogService.method.consume), true, "reads are retried");
});
