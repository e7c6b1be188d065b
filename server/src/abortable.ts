import { abortReason } from "./errors.ts";

/**
 * Reads a request stream until the client half-closes, or throws
 * `abortReason(signal)` as soon as the call's signal aborts.
 *
 * connect-node's request iterable does not watch the handler's signal: a
 * client that keeps its request stream open past the deadline (or a server
 * shutting down) would otherwise leave a client- or bidi-streaming handler
 * waiting for the next message forever. Every handler that reads a request
 * stream should read it through this.
 */
export async function* untilAborted<T>(requests: AsyncIterable<T>, signal: AbortSignal): AsyncGenerator<T> {
  const it = requests[Symbol.asyncIterator]();
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(abortReason(signal));
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
  });
  aborted.catch(() => {}); // observed through the race below
  try {
    for (;;) {
      const next = await Promise.race([it.next(), aborted]);
      if (next.done) return;
      yield next.value;
    }
  } finally {
    signal.removeEventListener("abort", onAbort!);
    // Release the underlying stream; its pending read is abandoned.
    void Promise.resolve(it.return?.()).catch(() => {});
  }
}
