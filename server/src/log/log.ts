/**
 * The commit log: an ordered list of segments (segment-set.ts), the last one
 * active. Appends get gapless offsets; they are buffered and written by one
 * flush loop, so appends that arrive while a write (and, under fsync
 * "always", an fsync) is in flight share the next one — write coalescing and
 * group commit (group-commit.ts).
 *
 * A record becomes visible to readers when its append is acknowledged (it
 * was written, and synced if the policy says so), so readers never see a
 * partial record or one a crash could take back; readers waiting for it
 * are woken then (offset-waiters.ts).
 */
import { resolveLogConfig, type LogConfig } from "./config.ts";
import { GroupCommit } from "./group-commit.ts";
import { LogClosedError, OffsetOutOfRangeError, RecordTooLargeError } from "./log-errors.ts";
import { OffsetWaiters } from "./offset-waiters.ts";
import { Segment, type LogRecord } from "./segment.ts";
import { loadSegments, type OpenReport } from "./segment-recovery.ts";
import { SegmentSet } from "./segment-set.ts";

export type { LogRecord } from "./segment.ts";
export type { OpenReport } from "./segment-recovery.ts";

/** The narrow interface the LogService uses. Offsets are integers < 2^53. */
export interface CommitLog {
  readonly config: LogConfig;
  /** Appends a record; resolves with its offset once it is durable per the fsync policy. */
  append(value: Uint8Array): Promise<number>;
  /**
   * The record at `offset`, read asynchronously; OffsetOutOfRangeError
   * outside [lowestOffset, nextOffset), also when retention removes the
   * record's segment while the read is in flight.
   */
  read(offset: number): Promise<Uint8Array>;
  /**
   * Records from `offset` on, about `maxBytes` of them (at least one), read
   * with one asynchronous positioned read (in ≤ 64 KiB chunks); [] when
   * `offset` is the next offset. Range errors as for `read`.
   */
  readBatch(offset: number, maxBytes: number): Promise<LogRecord[]>;
  /** Lowest offset still retained (equals nextOffset when empty). */
  readonly lowestOffset: number;
  /** Offset the next acknowledged record gets; highest offset = nextOffset - 1. */
  readonly nextOffset: number;
  /** Resolves once a record at `offset` or later is readable; rejects when `signal` aborts or the log closes. */
  waitForRecords(offset: number, signal: AbortSignal): Promise<void>;
}

/** Opens (creating and recovering as needed) the log in `dir`. */
export async function openCommitLog(dir: string, config: Partial<LogConfig> = {}): Promise<SegmentedLog> {
  const resolved = resolveLogConfig(config);
  const { segments, report, dirSyncNeeded } = await loadSegments(dir, resolved);
  return new SegmentedLog(dir, resolved, segments, report, dirSyncNeeded);
}

export class SegmentedLog implements CommitLog {
  readonly dir: string;
  readonly config: LogConfig;
  readonly openReport: OpenReport;
  readonly #segments: SegmentSet;
  readonly #commit: GroupCommit;
  readonly #waiters = new OffsetWaiters();
  /** Next offset to hand out (includes appends not yet acknowledged). */
  #next: number;
  /** Offsets below this are acknowledged and readable. */
  #committed: number;
  #rolled = false;
  #closed = false;
  #timers: NodeJS.Timeout[] = [];

  constructor(dir: string, config: LogConfig, segments: Segment[], report: OpenReport, dirSyncNeeded: boolean) {
    this.dir = dir;
    this.config = config;
    this.openReport = report;
    this.#segments = new SegmentSet(segments);
    this.#next = this.#segments.active.nextOffset;
    this.#committed = this.#next;
    this.#commit = new GroupCommit({
      dir,
      fsync: config.fsync,
      segments: this.#segments,
      dirSyncNeeded,
      commit: (next) => {
        this.#committed = next;
      },
      committed: () => {
        this.#waiters.wake(this.#committed);
        if (this.#rolled) {
          this.#rolled = false;
          this.#applyRetention();
        }
      },
    });
    if (config.fsync === "interval") {
      this.#timers.push(setInterval(() => void this.#commit.syncUnsynced().catch(() => {}), config.fsyncIntervalMs).unref());
    }
    if (config.retentionAgeMs > 0) {
      this.#timers.push(setInterval(() => this.#applyRetention(), config.retentionCheckIntervalMs).unref());
    }
  }

  get lowestOffset(): number {
    return this.#segments.lowestOffset;
  }

  get nextOffset(): number {
    return this.#committed;
  }

  /** Number of segments (for tests and metrics). */
  get segmentCount(): number {
    return this.#segments.count;
  }

  /** Bytes of all store and index files. */
  get sizeBytes(): number {
    return this.#segments.sizeBytes;
  }

  append(value: Uint8Array): Promise<number> {
    if (this.#closed) return Promise.reject(new LogClosedError());
    if (this.#commit.failed) return Promise.reject(this.#commit.failed);
    if (value.length > this.config.maxRecordBytes) {
      return Promise.reject(new RecordTooLargeError(value.length, this.config.maxRecordBytes));
    }
    let segment = this.#segments.active;
    if (segment.isFullFor(value.length)) {
      try {
        segment = Segment.create(this.dir, this.#next, this.config);
      } catch (err) {
        return Promise.reject(err); // e.g. EMFILE, ENOSPC: this append fails, the log stays usable
      }
      this.#segments.push(segment);
      this.#commit.dirChanged();
      this.#rolled = true;
    }
    const offset = segment.append(value);
    this.#next = offset + 1;
    return this.#commit.enqueue(segment, offset).then(() => offset);
  }

  #checkRange(offset: number, allowNext: boolean): void {
    const lowest = this.lowestOffset;
    const next = this.#committed;
    if (!Number.isSafeInteger(offset) || offset < lowest || offset > next || (offset === next && !allowNext)) {
      throw new OffsetOutOfRangeError(offset, lowest, next);
    }
  }

  async read(offset: number): Promise<Uint8Array> {
    if (this.#closed) throw new LogClosedError();
    this.#checkRange(offset, false);
    const segment = this.#segments.segmentFor(offset);
    return this.#whileRetained(segment, offset, segment.read(offset));
  }

  async readBatch(offset: number, maxBytes: number): Promise<LogRecord[]> {
    if (this.#closed) throw new LogClosedError();
    this.#checkRange(offset, true);
    if (offset === this.#committed) return [];
    const segment = this.#segments.segmentFor(offset);
    return this.#whileRetained(segment, offset, segment.readBatch(offset, this.#committed, maxBytes));
  }

  /**
   * Settles like `read` (a read of `segment` at `offset`, started in the same
   * turn as the range check) unless retention removed the segment while the
   * read was in flight: then the record is gone and the answer is
   * OffsetOutOfRangeError, as for a read that arrives just after the removal.
   * The store defers closing its file until the read ends (store.ts), so the
   * read itself never fails on a closed or reused descriptor.
   */
  async #whileRetained<T>(segment: Segment, offset: number, read: Promise<T>): Promise<T> {
    let result: T | undefined;
    let failure: unknown;
    try {
      result = await read;
    } catch (err) {
      failure = err;
    }
    if (!this.#segments.has(segment)) {
      if (this.#closed) throw new LogClosedError();
      throw new OffsetOutOfRangeError(offset, this.lowestOffset, this.#committed);
    }
    if (failure !== undefined) throw failure;
    return result as T;
  }

  waitForRecords(offset: number, signal: AbortSignal): Promise<void> {
    if (offset < this.#committed) return Promise.resolve();
    if (this.#closed) return Promise.reject(new LogClosedError());
    if (signal.aborted) return Promise.reject(signal.reason);
    return this.#waiters.add(offset, signal);
  }

  /** Every record from `from` (default the lowest) to the end as of the call. */
  async *reader(from = this.lowestOffset, batchBytes = 1024 * 1024): AsyncGenerator<LogRecord> {
    const end = this.#committed;
    let next = from;
    while (next < end) {
      for (const record of await this.readBatch(next, batchBytes)) {
        if (record.offset >= end) return;
        yield record;
        next = record.offset + 1;
      }
    }
  }

  /**
   * Removes every whole segment whose records all have offsets below
   * `lowest` (never the active segment). Returns how many were removed.
   */
  truncate(lowest: number): number {
    return this.#segments.truncate(lowest, this.#committed);
  }

  /** Size and age retention: removes oldest whole segments (never the active one). */
  #applyRetention(): void {
    const { retentionBytes, retentionAgeMs } = this.config;
    if (this.#closed || (retentionBytes === 0 && retentionAgeMs === 0)) return;
    this.#segments.applyRetention(this.config, this.#committed);
  }

  /** Runs retention now (also runs after every roll-over and on a timer for age). */
  applyRetention(): void {
    this.#applyRetention();
  }

  /**
   * Finishes pending appends, fsyncs (whatever the policy), closes the files.
   * Waiting readers are rejected with LogClosedError. Idempotent.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const t of this.#timers) clearInterval(t);
    await this.#commit.drain();
    this.#waiters.rejectAll(new LogClosedError());
    try {
      if (!this.#commit.failed) {
        for (const s of this.#segments.all()) await s.syncAll();
        await this.#commit.syncDir();
      }
    } finally {
      for (const s of this.#segments.all()) s.close();
    }
  }
}
