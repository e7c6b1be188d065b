import fs from "node:fs";
import type { FsyncPolicy } from "./durability.ts";
import { syncBeforeAck } from "./durability.ts";
import { LogClosedError } from "./log-errors.ts";
import type { Segment } from "./segment.ts";
import type { SegmentSet } from "./segment-set.ts";

interface Batch {
  promise: Promise<void>;
  resolve(): void;
  reject(err: Error): void;
  /** Last offset in the batch. */
  last: number;
}

/** What a GroupCommit needs from its log. */
export interface GroupCommitOptions {
  /** The log's directory (fsync'ed after segment files were created). */
  dir: string;
  fsync: FsyncPolicy;
  segments: SegmentSet;
  /** The directory has changes not yet fsync'ed (a new log's first segment). */
  dirSyncNeeded: boolean;
  /** A batch is written (and synced as the policy says): offsets below `next` are acknowledged; called before its appends resolve. */
  commit(next: number): void;
  /** Called after a batch's appends were resolved. */
  committed(): void;
}

/**
 * Write coalescing and group commit: appended records are buffered in their
 * segments and written by one flush loop, so appends that arrive while a
 * write (and, under fsync "always", an fsync) is in flight share the next
 * one. After a failed write or fsync nothing more is accepted (`failed`).
 */
export class GroupCommit {
  readonly #o: GroupCommitOptions;
  #batch: Batch | null = null;
  #dirty = new Set<Segment>();
  #flushing: Promise<void> | null = null;
  #unsynced = new Set<Segment>();
  #syncing: Promise<void> | null = null;
  #dirSyncNeeded: boolean;
  #failed: Error | null = null;

  constructor(options: GroupCommitOptions) {
    this.#o = options;
    this.#dirSyncNeeded = options.dirSyncNeeded;
  }

  /** Why appends are refused (a write or fsync failed), or null. */
  get failed(): Error | null {
    return this.#failed;
  }

  /** A segment file was created: the directory needs an fsync too. */
  dirChanged(): void {
    this.#dirSyncNeeded = true;
  }

  /** `offset` was appended to `segment`'s buffer: resolves once its batch is acknowledged. */
  enqueue(segment: Segment, offset: number): Promise<void> {
    this.#dirty.add(segment);
    let batch = this.#batch;
    if (batch === null) {
      let resolve!: () => void;
      let reject!: (err: Error) => void;
      const promise = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      batch = this.#batch = { promise, resolve, reject, last: offset };
      if (this.#flushing === null) this.#flushing = this.#flushLoop();
    }
    batch.last = offset;
    return batch.promise;
  }

  /** Waits for pending batches and a running fsync (before close). */
  async drain(): Promise<void> {
    while (this.#flushing) await this.#flushing;
    if (this.#syncing) await this.#syncing.catch(() => {});
  }

  /** Writes (and syncs, under "always") batch after batch until none is left. */
  async #flushLoop(): Promise<void> {
    // Let every append of this event-loop turn join the first batch.
    await new Promise((resolve) => setImmediate(resolve));
    const always = syncBeforeAck(this.#o.fsync);
    while (this.#batch !== null) {
      const batch = this.#batch;
      this.#batch = null;
      const segments = [...this.#dirty];
      this.#dirty.clear();
      try {
        // One segment after the other, so a later segment never holds data
        // while an earlier one misses some.
        for (const segment of segments) {
          await segment.flush();
          if (always) await this.#o.segments.sync(segment);
          else this.#unsynced.add(segment);
        }
        if (always && this.#dirSyncNeeded) await this.syncDir();
      } catch (err) {
        this.#failed = new LogClosedError(
          `the commit log stopped accepting appends after a write failed: ${(err as Error).message}`,
          { cause: err },
        );
        batch.reject(this.#failed);
        (this.#batch as Batch | null)?.reject(this.#failed);
        this.#batch = null;
        break;
      }
      this.#o.commit(batch.last + 1);
      batch.resolve();
      this.#o.committed();
    }
    this.#flushing = null;
  }

  /** fsync of the log's directory. */
  async syncDir(): Promise<void> {
    this.#dirSyncNeeded = false;
    const fd = fs.openSync(this.#o.dir, "r");
    try {
      await new Promise<void>((resolve, reject) => fs.fsync(fd, (err) => (err ? reject(err) : resolve())));
    } finally {
      fs.closeSync(fd);
    }
  }

  /** fsync of everything written since the last one ("interval" policy). */
  syncUnsynced(): Promise<void> {
    if (this.#syncing) return this.#syncing;
    if (this.#unsynced.size === 0 && !this.#dirSyncNeeded) return Promise.resolve();
    const segments = [...this.#unsynced];
    this.#unsynced.clear();
    const run = async () => {
      try {
        for (const s of segments) {
          if (!this.#o.segments.has(s)) continue;
          await this.#o.segments.sync(s);
        }
        if (this.#dirSyncNeeded) await this.syncDir();
      } catch (err) {
        // After a failed fsync the kernel may have dropped the dirty pages:
        // what was acknowledged is not known to be durable. Stop appending.
        this.#failed ??= new LogClosedError(
          `the commit log stopped accepting appends after an fsync failed: ${(err as Error).message}`,
          { cause: err },
        );
        throw err;
      } finally {
        this.#syncing = null;
      }
    };
    return (this.#syncing = run());
  }
}
