/**
 * One bounded pull from a JetStream pull consumer (jetstream.ts's ConsumeStream):
 * it either ends (batch full, or the server expired the request) or fails
 * within a few seconds — it never waits forever on a consumer that is gone.
 *
 * Why not `consumer.fetch()` alone: after a reconnect the library checks the
 * consumer with CONSUMER.INFO and, while that times out (the consumer lived on
 * the NATS server that died: nobody answers), retries forever with its
 * heartbeat monitor switched off, so the fetch never ends. Hence `bind: true`
 * (no info checks: a reconnect re-pulls and re-arms the heartbeat monitor, so
 * a dead consumer fails with "heartbeats missed" or 503) plus a watchdog of
 * our own on every wait for the next message.
 */
import type { Consumer, JsMsg } from "@nats-io/jetstream";

export interface BoundedPullOptions {
  /** Most messages this pull returns. */
  max: number;
  /** Server-side expiry of the pull request (≥ 1000 ms). */
  expiresMs: number;
  /** Idle heartbeat the server sends while the pull waits; 2 missed → error. */
  heartbeatMs: number;
  /** Ends the pull (the generator rejects with the signal's reason). */
  signal: AbortSignal;
}

/** Raised when a pull neither delivered a message nor ended in time: the consumer is presumed dead. */
export class PullStalledError extends Error {
  constructor(ms: number) {
    super(`pull consumer stalled: no message and no end of the pull within ${ms} ms`);
    this.name = "PullStalledError";
  }
}

/**
 * Yields the pulled messages in order. Each wait for the next one is bounded
 * by expiry + 3 heartbeats (time the caller spends between messages is not
 * counted, so a slow RPC client never trips it).
 */
export async function* boundedPull(consumer: Consumer, { max, expiresMs, heartbeatMs, signal }: BoundedPullOptions): AsyncGenerator<JsMsg> {
  signal.throwIfAborted();
  const msgs = await consumer.fetch({ max_messages: max, expires: expiresMs, idle_heartbeat: heartbeatMs, bind: true });
  const it = msgs[Symbol.asyncIterator]();
  const stallMs = expiresMs + 3 * heartbeatMs;
  try {
    for (;;) {
      const next = await waitBounded(it.next(), stallMs, signal);
      if (next.done) return;
      yield next.value;
    }
  } finally {
    msgs.stop();
  }
}

/** `p`, or PullStalledError after `ms`, or the signal's reason when it aborts first. */
function waitBounded<T>(p: Promise<T>, ms: number, signal: AbortSignal): Promise<T> {
  p.catch(() => {}); // a late failure after the timeout is dropped, not unhandled
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    const timer = setTimeout(() => reject(new PullStalledError(ms)), ms);
    if (signal.aborted) onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(resolve, reject).finally(() => {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
    });
  });
}
