import { backoffDelay } from "@switchboard/common/backoff";

/** Options of `RoundRobinPicker`. */
export interface PickerOptions {
  /** First ejection period after a connection failure, in ms. Default 1000. */
  ejectBaseMs?: number;
  /** Longest ejection period (it doubles per consecutive failure), in ms. Default 30000. */
  ejectMaxMs?: number;
  /** Clock, for tests. Default Date.now. */
  now?: () => number;
  /**
   * Random number in [0, 1), for the start index of a new address set.
   * Default Math.random; tests pass a fixed one.
   */
  random?: () => number;
}

interface Health {
  failures: number;
  ejectedUntil: number;
}

/**
 * Round-robin over a changing set of addresses, skipping ejected ones. An
 * address whose connection failed is ejected for a back-off period that
 * doubles with each consecutive failure; it is re-admitted when the period
 * ends, and a success resets it. When every candidate is ejected, the one
 * re-admitted soonest is picked rather than failing the call.
 *
 * Each new address set starts at a random position (as grpc-go's
 * round_robin does), so many short-lived client processes — CLI runs,
 * scripts — spread their first calls instead of all landing on the first
 * address.
 */
export class RoundRobinPicker {
  readonly #ejectBaseMs: number;
  readonly #ejectMaxMs: number;
  readonly #now: () => number;
  readonly #random: () => number;
  #addresses: string[] = [];
  #health = new Map<string, Health>();
  #next = 0;

  constructor(options: PickerOptions = {}) {
    this.#ejectBaseMs = options.ejectBaseMs ?? 1000;
    this.#ejectMaxMs = options.ejectMaxMs ?? 30_000;
    this.#now = options.now ?? Date.now;
    this.#random = options.random ?? Math.random;
  }

  /** The current addresses, in pick order. */
  get addresses(): readonly string[] {
    return this.#addresses;
  }

  /**
   * Replaces the address set; health of addresses still present is kept.
   * A changed set restarts the rotation at a random position.
   */
  setAddresses(addresses: readonly string[]): void {
    const next = [...new Set(addresses)];
    const changed = next.length !== this.#addresses.length || next.some((a, i) => a !== this.#addresses[i]);
    this.#addresses = next;
    if (changed) this.#next = next.length ? Math.min(Math.floor(this.#random() * next.length), next.length - 1) : 0;
    const health = new Map<string, Health>();
    for (const a of this.#addresses) {
      const h = this.#health.get(a);
      if (h) health.set(a, h);
    }
    this.#health = health;
  }

  /**
   * The next address, skipping `exclude` (addresses this call already
   * tried) and ejected ones; undefined when nothing is left.
   */
  pick(exclude: ReadonlySet<string> = new Set()): string | undefined {
    const n = this.#addresses.length;
    if (n === 0) return undefined;
    const now = this.#now();
    let fallback: string | undefined;
    let fallbackUntil = Infinity;
    for (let i = 0; i < n; i++) {
      const idx = (this.#next + i) % n;
      const a = this.#addresses[idx]!;
      if (exclude.has(a)) continue;
      const until = this.#health.get(a)?.ejectedUntil ?? 0;
      if (until <= now) {
        this.#next = (idx + 1) % n;
        return a;
      }
      if (until < fallbackUntil) {
        fallback = a;
        fallbackUntil = until;
      }
    }
    return fallback;
  }

  /** Whether the address is currently ejected. */
  isEjected(address: string): boolean {
    return (this.#health.get(address)?.ejectedUntil ?? 0) > this.#now();
  }

  /** A connection to the address failed: eject it for the back-off period. */
  reportFailure(address: string): void {
    if (!this.#addresses.includes(address)) return;
    const h = this.#health.get(address) ?? { failures: 0, ejectedUntil: 0 };
    h.failures++;
    const period = backoffDelay(h.failures - 1, { initialMs: this.#ejectBaseMs, maxMs: this.#ejectMaxMs, jitter: "none" });
    h.ejectedUntil = this.#now() + period;
    this.#health.set(address, h);
  }

  /** A call to the address succeeded: clear its failures. */
  reportSuccess(address: string): void {
    this.#health.delete(address);
  }
}
