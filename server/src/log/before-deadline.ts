import type { HandlerContext } from "@connectrpc/connect";

/**
 * A signal that aborts a little before the call's deadline — a fifth of the
 * time left, at most one second — or when the call ends. A write that cannot
 * finish in time then gives up while its UNAVAILABLE answer can still reach a
 * loaded client before the client's own deadline. Without a deadline it is
 * the call's own signal.
 */
export function beforeDeadline(ctx: Pick<HandlerContext, "timeoutMs" | "signal">): AbortSignal {
  const left = ctx.timeoutMs();
  if (left === undefined) return ctx.signal;
  return AbortSignal.any([ctx.signal, AbortSignal.timeout(giveUpAfterMs(left))]);
}

/** Milliseconds until a call with `leftMs` to its deadline gives up: a whole number ≥ 0 (AbortSignal.timeout rejects fractions). */
export function giveUpAfterMs(leftMs: number): number {
  return Math.max(0, Math.floor(leftMs - Math.min(1_000, leftMs / 5)));
}
