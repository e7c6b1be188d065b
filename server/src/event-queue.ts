import { ConnectError } from "@connectrpc/connect";
import { abortReason } from "./errors.ts";

/**
 * A bounded single-consumer queue between a synchronous producer (the task
 * master's state machine, the health status) and one stream handler
 * (consumer). `push` never blocks and never waits: when the consumer is
 * `limit` items behind, the queue is closed with `overflowError` instead, so
 * a slow client can never hold up or grow the producer without bound. Written
 * here because it is a few lines and must be synchronous on the producer side
 * (stream libraries are not).
 */
export class EventQueue<T> {
  readonly #items: T[] = [];
  readonly #limit: number;
  readonly #overflowError: () => ConnectError;
  #waiter: { resolve: (v: T | undefined) => void; reject: (e: unknown) => void } | undefined;
  #closed = false;
  #error: unknown;

  constructor(limit: number, overflowError: () => ConnectError) {
    this.#limit = limit;
    this.#overflowError = overflowError;
  }

  get closed(): boolean {
    return this.#closed;
  }

  get length(): number {
    return this.#items.length;
  }

  /** Adds an item; false when the queue is closed (or just overflowed and closed). */
  push(item: T): boolean {
    if (this.#closed) return false;
    if (this.#waiter) {
      const w = this.#waiter;
      this.#waiter = undefined;
      w.resolve(item);
      return true;
    }
    if (this.#items.length >= this.#limit) {
      this.close(this.#overflowError());
      return false;
    }
    this.#items.push(item);
    return true;
  }

  /**
   * Ends the queue: the consumer receives the queued items, then `undefined`
   * (no error) or the error. With an error, queued items are dropped.
   */
  close(error?: unknown): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#error = error;
    if (error !== undefined) this.#items.length = 0;
    if (this.#waiter) {
      const w = this.#waiter;
      this.#waiter = undefined;
      if (error !== undefined) w.reject(error);
      else w.resolve(undefined);
    }
  }

  /** The next item; undefined when closed normally; rejects on error or abort of `signal`. */
  next(signal: AbortSignal): Promise<T | undefined> {
    if (this.#items.length > 0) return Promise.resolve(this.#items.shift()!);
    if (this.#closed) return this.#error !== undefined ? Promise.reject(this.#error) : Promise.resolve(undefined);
    if (signal.aborted) return Promise.reject(abortReason(signal));
    return new Promise<T | undefined>((resolve, reject) => {
      const onAbort = () => {
        this.#waiter = undefined;
        reject(abortReason(signal));
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.#waiter = {
        resolve: (v) => {
          signal.removeEventListener("abort", onAbort);
          resolve(v);
        },
        reject: (e) => {
          signal.removeEventListener("abort", onAbort);
          reject(e);
        },
      };
    });
  }
}
