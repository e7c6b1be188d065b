import { ExponentialBackoff, noJitterGenerator, type GeneratorFn, type IBackoff, type IBackoffFactory } from "cockatiel";

/**
 * The one retry back-off policy of Switchboard: worker reconnect, etcd
 * re-registration, discovery re-watch, the balanced transport's retry
 * rounds, the web UI's stream reconnect. Built on cockatiel's
 * ExponentialBackoff: the delay before retry n (0-based) has the ceiling
 * min(maxMs, initialMs × 2^n) and, with half jitter (the default), is
 * uniformly random in [ceiling/2, ceiling], so many clients that lost the
 * same server do not come back in lockstep, and none retries in a tight loop.
 */
export interface BackoffOptions {
  /** Ceiling of the first delay, in ms. Default 100. */
  initialMs?: number;
  /** Largest delay, in ms. Default 2000. */
  maxMs?: number;
  /** "half" (default): uniform in [ceiling/2, ceiling]; "none": exactly the ceiling. */
  jitter?: "half" | "none";
  /** Random source in [0, 1) for the jitter. Default Math.random (tests pass their own). */
  random?: () => number;
}

function factory(options: BackoffOptions): ExponentialBackoff<number> {
  const random = options.random ?? Math.random;
  const half = (options.jitter ?? "half") === "half";
  const generator: GeneratorFn<number> = (state, opts) => {
    const [ceiling, next] = noJitterGenerator(state, opts);
    return [half ? Math.round(ceiling / 2 + random() * (ceiling / 2)) : ceiling, next];
  };
  return new ExponentialBackoff({ generator, initialDelay: options.initialMs ?? 100, maxDelay: options.maxMs ?? 2000 });
}

/** The policy as a cockatiel back-off factory, for libraries that take one (etcd3's `watchBackoff`). */
export function backoffFactory(options: BackoffOptions = {}): IBackoffFactory<unknown> {
  return factory(options);
}

/**
 * A retry loop's position on the back-off curve: `next()` before each retry,
 * `reset()` once the operation succeeded again.
 */
export class Backoff {
  readonly #factory: ExponentialBackoff<number>;
  #current: IBackoff<unknown> | undefined;
  #attempts = 0;

  constructor(options: BackoffOptions = {}) {
    this.#factory = factory(options);
  }

  /** Retries since the last reset. */
  get attempts(): number {
    return this.#attempts;
  }

  /** The delay before the next retry, in ms; each call climbs one step. */
  next(): number {
    this.#current = this.#current ? this.#current.next(undefined) : this.#factory.next();
    this.#attempts++;
    return this.#current.duration;
  }

  /** Back to the first step. */
  reset(): void {
    this.#current = undefined;
    this.#attempts = 0;
  }
}

/**
 * The delay before retry `attempt` (0-based) of a stateless caller. Steps
 * past 31 give the same ceiling as 31 (it is long capped by then).
 */
export function backoffDelay(attempt: number, options: BackoffOptions = {}): number {
  const b = new Backoff(options);
  let d = 0;
  for (let i = 0; i <= Math.min(Math.max(0, attempt), 31); i++) d = b.next();
  return d;
}
