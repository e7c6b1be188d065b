import { Code, ConnectError } from "@connectrpc/connect";
import { redactSecrets } from "./redact.ts";

/** Node socket errors that mean "the database is not reachable". */
const socketCodes = new Set(["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT", "EHOSTUNREACH", "ENOTFOUND", "EAI_AGAIN"]);

/**
 * True when `err` says the database cannot be used right now (connection
 * refused or lost, server shutting down or starting, statement timeout), as
 * opposed to an error in the statement itself.
 */
export function isUnavailable(err: unknown): boolean {
  const code = (err as { code?: string } | undefined)?.code ?? "";
  return code === "57014" || isConnectionError(err);
}

/**
 * True when the connection to the database failed (not a statement that
 * merely ran too long): what health follows.
 */
export function isConnectionError(err: unknown): boolean {
  const e = err as { code?: string; message?: string } | undefined;
  const code = e?.code ?? "";
  if (socketCodes.has(code)) return true;
  // SQLSTATE classes 08 (connection exception), 57P (operator intervention:
  // admin shutdown, crash shutdown, cannot connect now), 53 (insufficient
  // resources). 57014 (statement timeout) is UNAVAILABLE too, but not this.
  if (/^(08|57P|53)/.test(code)) return true;
  const msg = e?.message ?? "";
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|connection.*(closed|ended)|Query read timeout/i.test(msg);
}

/**
 * The one place pg errors become RPC errors: an unreachable database is
 * UNAVAILABLE (clients retry elsewhere or later); ConnectErrors pass through;
 * anything else is rethrown as it is (INTERNAL). Secrets are redacted.
 */
export function toRpcError(err: unknown): unknown {
  if (err instanceof ConnectError) return err;
  if (isUnavailable(err)) {
    return new ConnectError(`database unavailable: ${redactSecrets((err as Error).message)}`, Code.Unavailable);
  }
  return err;
}
