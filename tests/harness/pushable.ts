/**
 * An async iterable the test pushes into one message at a time, for client-
 * and bidi-streaming calls whose next request depends on earlier responses.
 * Written by hand: it is ten lines and keeps the tests free of stream libraries.
 */
export interface Pushable<T> extends AsyncIterable<T> {
  push(value: T): void;
  /** Half-close: the iteration ends after the queued values. */
  end(): void;
}

export function pushable<T>(): Pushable<T> {
  const queue: T[] = [];
  let ended = false;
  let wake: (() => void) | undefined;
  return {
    push(value) {
      queue.push(value);
      wake?.();
    },
    end() {
      ended = true;
      wake?.();
    },
    async *[Symbol.asyncIterator]() {
      for (;;) {
        while (queue.length > 0) yield queue.shift()!;
        if (ended) return;
        await new Promise<void>((r) => (wake = r));
        wake = undefined;
      }
    },
  };
}
