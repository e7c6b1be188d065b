import type { Interceptor } from "@connectrpc/connect";
import { untilAborted } from "../abortable.ts";

/**
 * For calls served by connect-node: reads a streaming request through
 * `untilAborted()`, so a client- or bidi-streaming implementation waiting for
 * the next message ends with DEADLINE_EXCEEDED (or UNAVAILABLE at shutdown,
 * CANCELED on cancel) when the call's signal aborts — for every service, not
 * only those that remember to wrap their request stream. connect-node's
 * request iterable does not watch the signal; without this, a client that
 * holds its stream open past the deadline got no status, only the
 * deadline-guard's RST_STREAM a second later. (The fast path's RequestStream
 * already aborts.)
 */
export const abortRequestStreamInterceptor: Interceptor = (next) => (req) => {
  if (!req.stream) return next(req);
  return next({ ...req, message: untilAborted(req.message, req.signal) });
};
