import type { DescMethod } from "@bufbuild/protobuf";
import { MethodOptions_IdempotencyLevel as IdempotencyLevel } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";

/** Node error codes that mean the request never reached a server. */
const notSentCodes = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EADDRNOTAVAIL",
  "ERR_HTTP2_GOAWAY_SESSION",
]);

/** Node error codes that mean the connection to a server broke. */
const brokenCodes = new Set([
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "ECONNABORTED",
  "ERR_HTTP2_SESSION_ERROR",
  "ERR_HTTP2_STREAM_ERROR",
  "ERR_HTTP2_STREAM_CANCEL",
  "ERR_HTTP2_INVALID_SESSION",
  "ERR_HTTP2_ERROR",
  "ERR_STREAM_PREMATURE_CLOSE",
  "ERR_STREAM_DESTROYED",
  "ERR_HTTP2_INVALID_STREAM",
]);

function nodeCodes(err: unknown): string[] {
  const codes: string[] = [];
  const seen = new Set<unknown>();
  let e: unknown = err;
  while (e instanceof Error && !seen.has(e)) {
    seen.add(e);
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string") codes.push(code);
    e = (e as { cause?: unknown }).cause;
  }
  return codes;
}

/** The method promises not to change anything, or to be safe to repeat. */
export function isIdempotent(method: DescMethod): boolean {
  return method.idempotency === IdempotencyLevel.NO_SIDE_EFFECTS || method.idempotency === IdempotencyLevel.IDEMPOTENT;
}

/**
 * The call failed before any server could have processed it: the
 * connection was refused or the host is unknown, or HTTP/2 refused the
 * stream (REFUSED_STREAM, or GOAWAY before the stream began).
 */
export function failedBeforeProcessing(err: unknown): boolean {
  if (nodeCodes(err).some((c) => notSentCodes.has(c))) return true;
  const ce = ConnectError.from(err);
  return ce.code === Code.Unavailable && /REFUSED_STREAM/.test(ce.rawMessage);
}

/** The connection to the endpoint failed (refused, reset, broken): eject it. */
export function isConnectionFailure(err: unknown): boolean {
  if (failedBeforeProcessing(err)) return true;
  return nodeCodes(err).some((c) => brokenCodes.has(c));
}

/**
 * Whether a failed call may be sent again to another endpoint: always when
 * it failed before processing; for NO_SIDE_EFFECTS / IDEMPOTENT methods
 * also when it failed with UNAVAILABLE, its connection broke mid-call, or
 * its HTTP/2 stream was canceled (what a peer that died mid-call looks
 * like). Never for DEADLINE_EXCEEDED. A caller's own cancellation is not
 * visible in the error: the transport checks the caller's signal first.
 */
export function isRetryable(err: unknown, method: DescMethod): boolean {
  const ce = ConnectError.from(err);
  if (ce.code === Code.DeadlineExceeded) return false;
  if (failedBeforeProcessing(err)) return true;
  if (!isIdempotent(method)) return false;
  return ce.code === Code.Unavailable || ce.code === Code.Canceled || isConnectionFailure(err);
}
