import { Code, ConnectError, type CallOptions } from "@connectrpc/connect";
import { Backoff, type BackoffOptions } from "@switchboard/common/backoff";
import { isConnectionFailure } from "../discovery/retry-policy.ts";

/** Options of `follow`. */
export interface FollowOptions<T> {
  /** Opens the stream from the caller's current position (it advances in `onMessage`). */
  open(call: CallOptions): AsyncIterable<T>;
  onMessage(message: T): void;
  /** Ctrl-C: ends the follow at once. */
  signal: AbortSignal;
  /** Deadline of the whole follow, reconnects included, in ms; 0 or undefined = none. */
  timeoutMs?: number;
  /** Notes for people (stderr): connection lost, reconnected. */
  note(text: string): void;
  /** Reconnect back-off. Default 200 ms doubling to 5 s, half jitter (see @switchboard/common/backoff). */
  backoff?: BackoffOptions;
}

/**
 * The server went away or the connection broke: worth opening the stream
 * again. A server that died mid-stream shows as CANCELED ("http/2 stream
 * closed with error code CANCEL"); our own Ctrl-C is told apart by the signal.
 */
export function isReconnectable(err: ConnectError): boolean {
  if (err.code === Code.DeadlineExceeded) return false;
  return err.code === Code.Unavailable || err.code === Code.Canceled || isConnectionFailure(err);
}

/**
 * Runs an endless stream (`tail --follow`) and opens it again, with the
 * project's back-off, when the server goes away (restart, crash, network):
 * `open` resumes from the position the caller keeps, so nothing is missed or
 * printed twice. Other errors, the deadline and Ctrl-C end it. Returns when
 * the server ends the stream normally.
 */
export async function follow<T>(o: FollowOptions<T>): Promise<void> {
  const retry = new Backoff({ initialMs: 200, maxMs: 5000, ...o.backoff });
  const deadline = o.timeoutMs ? Date.now() + o.timeoutMs : undefined;
  let lost: ConnectError | undefined;
  for (;;) {
    if (o.signal.aborted) throw new ConnectError("the call was cancelled", Code.Canceled);
    const left = deadline === undefined ? 0 : deadline - Date.now();
    if (deadline !== undefined && left <= 0) {
      throw new ConnectError(`deadline exceeded while reconnecting (last error: ${lost?.rawMessage})`, Code.DeadlineExceeded);
    }
    // Back once the server answers: its headers, or (when it sends them with it) the first message.
    const onHeader = () => {
      if (lost === undefined) return;
      o.note("reconnected; following again");
      lost = undefined;
      retry.reset();
    };
    try {
      for await (const message of o.open({ signal: o.signal, timeoutMs: left, onHeader })) {
        onHeader();
        o.onMessage(message);
      }
      return;
    } catch (err) {
      const e = ConnectError.from(err);
      if (o.signal.aborted || !isReconnectable(e)) throw e;
      const delay = retry.next();
      if (lost === undefined) o.note(`connection lost (${Code[e.code]}: ${e.rawMessage}); reconnecting, first in ${delay} ms (Ctrl-C stops)`);
      lost = e;
      await sleep(deadline === undefined ? delay : Math.min(delay, Math.max(0, deadline - Date.now())), o.signal);
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });
}
