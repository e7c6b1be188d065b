/** Reconnect backoff: exponential with full jitter. */
export interface BackoffOptions {
  /** First delay ceiling. Default 200 ms. */
  initialMs?: number;
  /** Largest delay. Default 10 s. */
  maxMs?: number;
}

/**
 * Delay before reconnect attempt `attempt` (0-based): a uniformly random
 * value in [ceiling/2, ceiling], ceiling = min(max, initial × 2^attempt).
 * Half-jitter keeps workers from reconnecting in lockstep after a master
 * restart without ever retrying in a tight loop.
 */
export function backoffDelay(attempt: number, options: BackoffOptions = {}, random: () => number = Math.random): number {
  const initial = options.initialMs ?? 200;
  const max = options.maxMs ?? 10_000;
  const ceiling = Math.min(max, initial * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}
