import type { IncomingMessage, ServerResponse } from "node:http";
import { constants, type Http2ServerRequest, type Http2ServerResponse } from "node:http2";

/** Milliseconds per grpc-timeout unit (gRPC over HTTP/2 spec). */
const grpcTimeoutUnits: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1_000, m: 1, u: 1e-3, n: 1e-6 };

/** The deadline a request carries (grpc-timeout or connect-timeout-ms), in ms, if any. */
export function requestTimeoutMs(headers: Record<string, string | string[] | undefined>): number | undefined {
  const grpc = headers["grpc-timeout"];
  if (typeof grpc === "string") {
    const m = /^(\d{1,8})([HMSmun])$/.exec(grpc);
    return m ? Number(m[1]) * grpcTimeoutUnits[m[2]!]! : undefined;
  }
  const connect = headers["connect-timeout-ms"];
  if (typeof connect === "string" && /^\d{1,10}$/.test(connect)) return Number(connect);
  return undefined;
}

/**
 * Cuts a call's stream (HTTP/2 RST_STREAM CANCEL, or the HTTP/1.1 connection)
 * when its deadline has passed by `graceMs` and the response is still not
 * finished.
 *
 * connect-node ends a call at its deadline by sending the status — unless the
 * handler is stuck writing to a client that stopped reading (flow control):
 * then neither the status nor anything else can be sent and the handler would
 * wait forever. Resetting the stream makes the pending write fail, which ends
 * the handler. Written by hand: it sits between Node's server and
 * connect-node, which has no such option.
 */
export function enforceDeadline(
  req: IncomingMessage | Http2ServerRequest,
  res: ServerResponse | Http2ServerResponse,
  graceMs: number,
): void {
  const timeoutMs = requestTimeoutMs(req.headers);
  if (timeoutMs === undefined) return;
  const timer = setTimeout(() => {
    if (res.writableFinished) return;
    if ("stream" in req) {
      if (!req.stream.closed) req.stream.close(constants.NGHTTP2_CANCEL);
    } else {
      (res as ServerResponse).destroy();
    }
  }, timeoutMs + graceMs);
  timer.unref();
  res.once("close", () => clearTimeout(timer));
}
