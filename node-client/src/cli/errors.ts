import { Code, ConnectError } from "@connectrpc/connect";
import { BadRequestSchema } from "@switchboard/gen/google/rpc/error_details_pb.js";
import { OffsetOutOfRangeSchema } from "@switchboard/gen/log/v1/log_pb.js";
import { ExitCode, UsageError, type ExitCodeValue } from "./exit-codes.ts";

/** "InvalidArgument" → "INVALID_ARGUMENT": the gRPC status code name. */
export function codeName(code: Code): string {
  const name = Code[code] as string | undefined;
  if (name === undefined) return `CODE_${code}`;
  return name.replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase();
}

/** What the CLI prints for a failure, and its exit code. */
export interface ErrorReport {
  exitCode: ExitCodeValue;
  /** Human-readable lines for stderr. */
  lines: string[];
  /** The same as one JSON object, for --json. */
  json: Record<string, unknown>;
}

/**
 * Describes an error thrown by a command: usage errors (exit 2) or RPC
 * errors with their status code name, message, field violations and the
 * log's offset-range detail (exit 1).
 */
export function describeError(err: unknown): ErrorReport {
  if (err instanceof UsageError) {
    return { exitCode: ExitCode.usage, lines: [`error: ${err.message}`], json: { error: { code: "USAGE", message: err.message } } };
  }
  const ce = ConnectError.from(err);
  const code = codeName(ce.code);
  const lines = [`error: ${code}: ${ce.rawMessage}`];
  const json: Record<string, unknown> = { code, message: ce.rawMessage };
  const violations = ce.findDetails(BadRequestSchema).flatMap((d) => d.fieldViolations);
  if (violations.length > 0) {
    json.fieldViolations = violations.map((v) => ({ field: v.field, description: v.description, reason: v.reason }));
    for (const v of violations) lines.push(`  ${v.field}: ${v.description}${v.reason ? ` (${v.reason})` : ""}`);
  }
  const range = ce.findDetails(OffsetOutOfRangeSchema)[0];
  if (range) {
    const held = range.empty ? "the log is empty" : `the log holds offsets ${range.lowestOffset}..${range.highestOffset}`;
    lines.push(`  offset ${range.requestedOffset} is out of range: ${held}, next offset ${range.nextOffset}`);
    json.offsetOutOfRange = {
      requestedOffset: String(range.requestedOffset),
      lowestOffset: String(range.lowestOffset),
      highestOffset: String(range.highestOffset),
      nextOffset: String(range.nextOffset),
      empty: range.empty,
    };
  }
  return { exitCode: ExitCode.rpcError, lines, json: { error: json } };
}
