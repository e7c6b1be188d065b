import { Code, ConnectError } from "@connectrpc/connect";
import { BadRequestSchema } from "@switchboard/gen/google/rpc/error_details_pb.js";
import { OffsetOutOfRangeSchema, type OffsetOutOfRange } from "@switchboard/gen/log/v1/log_pb.js";

/** A field violation from google.rpc.BadRequest. */
export interface Violation {
  field: string;
  description: string;
}

/** The field violations of an INVALID_ARGUMENT error (empty for other errors). */
export function violationsOf(err: unknown): Violation[] {
  if (!(err instanceof ConnectError)) return [];
  return err
    .findDetails(BadRequestSchema)
    .flatMap((d) => d.fieldViolations.map((v) => ({ field: v.field, description: v.description })));
}

/** The OffsetOutOfRange detail of an OUT_OF_RANGE error from the log. */
export function offsetOutOfRangeOf(err: unknown): OffsetOutOfRange | undefined {
  if (!(err instanceof ConnectError) || err.code !== Code.OutOfRange) return undefined;
  return err.findDetails(OffsetOutOfRangeSchema)[0];
}

/** Whether the error means "could not reach the server" (worth retrying). */
export function isUnreachable(err: unknown): boolean {
  const e = ConnectError.from(err);
  return e.code === Code.Unavailable || e.code === Code.Unknown || e.code === Code.Internal && /fetch|network/i.test(e.rawMessage);
}

/** A short, human sentence for an error; the code name in brackets. */
export function describeError(err: unknown): string {
  const e = ConnectError.from(err);
  switch (e.code) {
    case Code.Unimplemented:
      return "This server does not provide this service (unimplemented).";
    case Code.Unavailable:
      return e.rawMessage && !/fetch|network/i.test(e.rawMessage)
        ? `Server unavailable: ${e.rawMessage}`
        : "Cannot reach the server (unavailable).";
    case Code.Unauthenticated:
      return `Not allowed: ${e.rawMessage || "a valid token is required"} (unauthenticated).`;
    case Code.PermissionDenied:
      return `Not allowed: ${e.rawMessage} (permission denied).`;
    default:
      return `${e.rawMessage || "Request failed"} (${codeName(e.code)}).`;
  }
}

/** "not_found" style names, as the Connect protocol spells them. */
export function codeName(code: Code): string {
  return (Code[code] ?? "unknown").replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase();
}

/** The log's OUT_OF_RANGE as a sentence naming the offsets it does hold. */
export function describeOutOfRange(range: OffsetOutOfRange): string {
  return range.empty
    ? `Offset ${range.requestedOffset} is out of range: the log is empty (the next record gets offset ${range.nextOffset}).`
    : `Offset ${range.requestedOffset} is out of range: the log holds offsets ${range.lowestOffset} to ${range.highestOffset}.`;
}

/**
 * refetchInterval for polled queries: keep polling while things work or the
 * server is unreachable (it may come back), stop after a final answer such
 * as UNIMPLEMENTED, which would only repeat the same error.
 */
export function pollEvery(ms: number) {
  return (query: { state: { error: unknown } }): number | false =>
    query.state.error && !isUnreachable(query.state.error) ? false : ms;
}
