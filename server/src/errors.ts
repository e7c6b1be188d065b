import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { BadRequestSchema } from "@switchboard/gen/google/rpc/error_details_pb.js";

/** One invalid field of a request, reported in google.rpc.BadRequest. */
export interface FieldViolation {
  /** Path to the field, e.g. "order.items[0]". */
  field: string;
  /** Human-readable explanation. */
  description: string;
  /** Machine-readable reason, e.g. "REQUIRED", "INVALID_FORMAT". */
  reason?: string;
}

/**
 * INVALID_ARGUMENT with a google.rpc.BadRequest detail listing every
 * violation, so clients can show each message next to its field.
 */
export function invalidArgument(
  message: string,
  violations: FieldViolation[],
): ConnectError {
  const summary = violations.map((v) => `${v.field}: ${v.description}`).join("; ");
  return new ConnectError(
    summary ? `${message}: ${summary}` : message,
    Code.InvalidArgument,
    undefined,
    [
      {
        desc: BadRequestSchema,
        value: create(BadRequestSchema, {
          fieldViolations: violations.map((v) => ({
            field: v.field,
            description: v.description,
            reason: v.reason ?? "",
          })),
        }),
      },
    ],
  );
}

/** Reads the field violations out of an error, for clients and tests. */
export function fieldViolations(err: ConnectError): FieldViolation[] {
  return err.findDetails(BadRequestSchema).flatMap((d) =>
    d.fieldViolations.map((v) => ({
      field: v.field,
      description: v.description,
      reason: v.reason,
    })),
  );
}

/** The error every long-lived stream ends with when the server stops. */
export function shuttingDown(): ConnectError {
  return new ConnectError("server is shutting down", Code.Unavailable);
}

/**
 * Resolves when the signal aborts, then throws its reason as a ConnectError.
 * Long-lived streams race their waits against this so they end with a clear
 * status (CANCELED, DEADLINE_EXCEEDED or UNAVAILABLE on shutdown).
 */
export function abortReason(signal: AbortSignal): ConnectError {
  return ConnectError.from(signal.reason ?? new ConnectError("canceled", Code.Canceled));
}
