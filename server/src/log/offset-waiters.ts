interface Waiter {
  offset: number;
  resolve(): void;
  reject(err: unknown): void;
}

/** Readers waiting for a record at an offset that is not acknowledged yet (a log's `waitForRecords`). */
export class OffsetWaiters {
  readonly #waiters = new Set<Waiter>();

  /** Resolves once `wake` is called with a committed offset past `offset`; rejects when `signal` aborts. */
  add(offset: number, signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        this.#waiters.delete(waiter);
        reject(signal.reason);
      };
      const waiter: Waiter = {
        offset,
        resolve: () => {
          signal.removeEventListener("abort", onAbort);
          resolve();
        },
        reject: (err) => {
          signal.removeEventListener("abort", onAbort);
          reject(err);
        },
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.#waiters.add(waiter);
    });
  }

  /** Releases the waiters of offsets below `committed`. */
  wake(committed: number): void {
    for (const w of this.#waiters) {
      if (w.offset < committed) {
        this.#waiters.delete(w);
        w.resolve();
      }
    }
  }

  /** Rejects every waiter with `err`. */
  rejectAll(err: unknown): void {
    for (const w of this.#waiters) w.reject(err);
    this.#waiters.clear();
  }
}
