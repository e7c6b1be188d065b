import type { Etcd3 } from "etcd3";
import { Backoff } from "@switchboard/common/backoff";

/** Options of `PrefixWatcher`. */
export interface PrefixWatcherOptions {
  /** Called with the full key → value map after every change. */
  onChange: (entries: ReadonlyMap<string, string>) => void;
  /** Called when etcd cannot be read (the last known entries stay). */
  onError?: (err: Error) => void;
  /** Longest wait between attempts to re-list, in ms (back-off from 100 ms, see @switchboard/common/backoff). Default 2000. */
  maxBackoffMs?: number;
}

/**
 * Mirrors every key under a prefix: lists it, then watches from the listed
 * revision + 1 so no event between the list and the watch is lost. When the
 * watch is canceled (e.g. its revision was compacted) it lists again and
 * re-watches. While etcd is unreachable the last known entries are kept.
 *
 * `keyPrefix` is used verbatim; callers pass it WITH a trailing slash so
 * "foo/" does not match "foo_other/".
 */
export class PrefixWatcher {
  readonly #client: Etcd3;
  readonly #keyPrefix: string;
  readonly #options: PrefixWatcherOptions;
  #entries = new Map<string, string>();
  #closed = false;
  #wake: (() => void) | undefined;
  #loop: Promise<void> | undefined;
  #listed = false;
  readonly #readyWaiters: Array<() => void> = [];

  constructor(client: Etcd3, keyPrefix: string, options: PrefixWatcherOptions) {
    this.#client = client;
    this.#keyPrefix = keyPrefix;
    this.#options = options;
  }

  /** The entries as last seen. */
  get entries(): ReadonlyMap<string, string> {
    return this.#entries;
  }

  /** Whether the prefix has been listed at least once. */
  get listed(): boolean {
    return this.#listed;
  }

  /** Starts listing and watching in the background. Idempotent. */
  start(): this {
    this.#loop ??= this.#run();
    return this;
  }

  /** Resolves after the first successful list (or on close). */
  whenListed(): Promise<void> {
    if (this.#listed || this.#closed) return Promise.resolve();
    return new Promise((resolve) => this.#readyWaiters.push(resolve));
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#wake?.();
    for (const w of this.#readyWaiters.splice(0)) w();
    await this.#loop;
  }

  async #run(): Promise<void> {
    const retry = new Backoff({ initialMs: 100, maxMs: this.#options.maxBackoffMs ?? 2000 });
    while (!this.#closed) {
      try {
        const res = await this.#client.getAll().prefix(this.#keyPrefix).exec();
        if (this.#closed) break;
        this.#entries = new Map(res.kvs.map((kv) => [kv.key.toString(), kv.value.toString()]));
        this.#listed = true;
        for (const w of this.#readyWaiters.splice(0)) w();
        this.#options.onChange(this.#entries);
        const from = (BigInt(res.header.revision) + 1n).toString();
        await this.#watchFrom(from);
        retry.reset();
      } catch (err) {
        if (this.#closed) break;
        this.#options.onError?.(err as Error);
        await this.#sleep(retry.next());
      }
    }
  }

  /** Applies watch events until the watch ends (cancel, compaction) or close(). */
  async #watchFrom(revision: string): Promise<void> {
    const ended = new Promise<void>((resolve) => (this.#wake = resolve));
    const watcher = this.#client.watch().prefix(this.#keyPrefix).startRevision(revision).watcher();
    watcher.on("put", (kv) => {
      this.#entries.set(kv.key.toString(), kv.value.toString());
      this.#options.onChange(this.#entries);
    });
    watcher.on("delete", (kv) => {
      if (this.#entries.delete(kv.key.toString())) this.#options.onChange(this.#entries);
    });
    watcher.on("error", (err: Error) => {
      this.#options.onError?.(err);
      this.#wake?.();
    });
    watcher.on("end", () => this.#wake?.());
    if (this.#closed) this.#wake?.();
    await ended;
    this.#wake = undefined;
    await watcher.cancel().catch(() => undefined);
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.#wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }
}
