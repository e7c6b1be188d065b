/**
 * Fair shares of the event loop for streams that could otherwise keep it
 * busy (e.g. ConsumeStreams reading a long log): each unit of work (one
 * read of ≤ 64 KiB and the messages it yields) first waits for a grant, and
 * at most `perTurn` grants are handed out per turn of the event loop, in
 * FIFO order (round robin among the waiting streams). Between turns Node
 * polls I/O, so a unary call arriving during the flood waits for at most
 * `perTurn` units of streaming work per turn it needs — however many streams
 * are open — instead of one unit per open stream.
 *
 * Why hand-written: it is a dozen lines over setImmediate; the queue
 * libraries (p-queue, p-limit) bound concurrency, not work per loop turn.
 */
export class TurnBudget {
  readonly #perTurn: number;
  #queue: Array<() => void> = [];
  #head = 0;
  #scheduled = false;

  /** @param perTurn grants per event-loop turn (default 4). */
  constructor(perTurn = 4) {
    this.#perTurn = perTurn;
  }

  /** Resolves when the caller may do its next unit of work. */
  next(): Promise<void> {
    return new Promise((resolve) => {
      this.#queue.push(resolve);
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(this.#grant);
      }
    });
  }

  /** Callers waiting for a grant. */
  get waiting(): number {
    return this.#queue.length - this.#head;
  }

  readonly #grant = (): void => {
    this.#scheduled = false;
    for (let n = 0; n < this.#perTurn && this.#head < this.#queue.length; n++) {
      const resolve = this.#queue[this.#head]!;
      this.#queue[this.#head++] = undefined as never;
      resolve();
    }
    if (this.#head === this.#queue.length) {
      this.#queue = [];
      this.#head = 0;
    } else {
      if (this.#head >= 1024) {
        this.#queue = this.#queue.slice(this.#head);
        this.#head = 0;
      }
      this.#scheduled = true;
      setImmediate(this.#grant);
    }
  };
}
