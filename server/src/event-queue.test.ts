import { test } from "node:test";
import assert from "node:assert/strict";
import { Code, ConnectError } from "@connectrpc/connect";
import { EventQueue } from "./event-queue.ts";

const overflow = () => new ConnectError("behind", Code.ResourceExhausted);

test("EventQueue: FIFO, waiting consumer, normal close after the queued items", async () => {
  const q = new EventQueue<number>(10, overflow);
  const signal = new AbortController().signal;
  const waiting = q.next(signal);
  assert.equal(q.push(1), true);
  assert.equal(await waiting, 1);
  q.push(2);
  q.push(3);
  q.close();
  assert.equal(q.push(4), false);
  assert.deepEqual([await q.next(signal), await q.next(signal), await q.next(signal)], [2, 3, undefined]);
});

test("EventQueue: overflow closes with the error instead of growing; abort rejects a waiting consumer", async () => {
  const q = new EventQueue<number>(2, overflow);
  const signal = new AbortController().signal;
  assert.deepEqual([q.push(1), q.push(2), q.push(3)], [true, true, false]);
  assert.equal(q.closed, true);
  await assert.rejects(q.next(signal), (e: ConnectError) => e.code === Code.ResourceExhausted);

  const ac = new AbortController();
  const idle = new EventQueue<number>(2, overflow);
  const waiting = idle.next(ac.signal);
  ac.abort(new ConnectError("bye", Code.Canceled));
  await assert.rejects(waiting, (e: ConnectError) => e.code === Code.Canceled);
  assert.equal(idle.push(5), true, "the queue itself stays usable");
});
