/**
 * The CLI's exit codes. Scripts can tell a mistake in the command line or
 * input apart from a failed call and from a call that worked but said "no".
 */
export const ExitCode = {
  /** Everything worked. */
  ok: 0,
  /** An RPC failed: the server (or the connection to it) returned an error status. */
  rpcError: 1,
  /** Bad command line or bad input (unknown flag, invalid value, unreadable file, malformed NDJSON line). Nothing was sent, or the stream was cancelled before the server committed anything. */
  usage: 2,
  /** The call worked but the answer is negative: `health` not SERVING, `tasks submit --wait` / `tasks watch ID` ended in FAILED or CANCELLED. */
  negative: 3,
  /** Interrupted by Ctrl-C (SIGINT) after cancelling the running call. */
  interrupted: 130,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** A mistake in the command line or the input: exit code 2, no RPC status. */
export class UsageError extends Error {
  override name = "UsageError";
}
