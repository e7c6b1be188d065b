/**
 * The commit log: an ordered list of segments, the last one active. Appends
 * get gapless offsets; they are buffered and written by one flush loop, so
 * appends that arrive while a write (and, under fsync "always", an fsync) is
 * in flight share the next one — write coalescing and group commit.
 *
 * A record becomes visible to readers when its append is acknowledged (it
 * was written, and synced if the policy says so), so readers never see a
 * partial record or one a crash could take back.
 */
import fs from "node:fs";
import path from "node:path";
import { resolveLogConfig, type LogConfig } from "./config.ts";
import { syncBeforeAck } from "./durability.ts";
import { LogClosedError, OffsetOutOfRangeError, RecordTooLargeError } from "./log-errors.ts";
import { Segment, type LogRecord, type SegmentRecovery } from "./segment.ts";

export type { LogRecord } from "./segment.ts";

/** The narrow interface the LogService uses. Offsets are integers < 2^53. */
export interface CommitLog {
  readonly config: LogConfig;
  /** Appends a record; resolves with its offset once it is durable per the fsync policy. */
  append(value: Uint8Array): Promise<number>;
  /** The record at `offset`; OffsetOutOfRangeError outside [lowestOffset, nextOffset). */
  read(offset: number): Uint8Array;
  /**
   * Records from `offset` on, about `maxBytes` of them (at least one), read
   * with one positioned read; [] when `offset` is the next offset.
   */
  readBatch(offset: number, maxBytes: number): LogRecord[];
  /** Lowest offset still retained (equals nextOffset when empty). */
  readonly lowestOffset: number;
  /** Offset the next acknowledged record gets; highest offset = nextOffset - 1. */
  readonly nextOffset: number;
  /** Resolves once a record at `offset` or later is readable; rejects when `signal` aborts or the log closes. */
  waitForRecords(offset: number, signal: AbortSignal): Promise<void>;
}

/** What `openCommitLog` found and repaired. */
export interface OpenReport {
  segments: number;
  /** Empty segments after a torn roll-over, removed. */
  removedEmptySegments: number;
  repaired: Array<{ baseOffset: number } & SegmentRecovery>;
}

interface Batch {
  promise: Promise<void>;
  resolve(): void;
  reject(err: Error): void;
  /** Last offset in the batch. */
  last: number;
}

interface Waiter {
  offset: number;
  resolve(): void;
  reject(err: unknown): void;
}

/** Opens (creating and recovering as needed) the log in `dir`. */
export async function openCommitLog(dir: string, config: Partial<LogConfig> = {}): Promise<SegmentedLog> {
  const resolved = resolveLogConfig(config);
  fs.mkdirSync(dir, { recursive: true });
  const bases = new Set<number>();
  for (const name of fs.readdirSync(dir)) {
    const m = /^(\d{20})\.(store|index)$/.exec(name);
    if (m) bases.add(Number(m[1]));
  }
  const segments: Segment[] = [];
  let removedEmpty = 0;
  try {
    for (const base of [...bases].sort((a, b) => a - b)) {
      segments.push(await Segment.open(dir, base, resolved));
    }
    for (let i = 1; i < segments.length; i++) {
      const prev = segments[i - 1]!;
      if (prev.nextOffset === segments[i]!.baseOffset) continue;
      // A roll-over creates the next segment's files before the previous
      // segment's last batch is written; a crash in between leaves that batch
      // torn and the new segments empty. They held nothing acknowledged.
      if (segments.slice(i).every((s) => s.count === 0)) {
        const empty = segments.splice(i);
        for (const s of empty) s.remove();
        removedEmpty = empty.length;
        break;
      }
      throw new Error(
        `commit log ${dir}: segment ${prev.store.path} ends before offset ${prev.nextOffset} but the next segment starts at ${segments[i]!.baseOffset}; records are missing`,
      );
    }
    const report: OpenReport = {
      segments: segments.length,
      removedEmptySegments: removedEmpty,
      repaired: segments
        .filter((s) => s.recovery.droppedIndexEntries + s.recovery.rebuiltIndexEntries + s.recovery.truncatedStoreBytes > 0)
        .map((s) => ({ baseOffset: s.baseOffset, ...s.recovery })),
    };
    let dirSyncNeeded = false;
    if (segments.length === 0) {
      segments.push(Segment.create(dir, resolved.initialOffset, resolved));
      dirSyncNeeded = true;
    }
    return new SegmentedLog(dir, resolved, segments, report, dirSyncNeeded);
  } catch (err) {
    for (const s of segments) s.close();
    throw err;
  }
}

export class SegmentedLog implements CommitLog {
  readonly dir: string;
  readonly config: LogConfig;
  readonly openReport: OpenReport;
  #segments: Segment[];
  /** Next offset to hand out (includes appends not yet acknowledged). */
  #next: number;
  /** Offsets below this are acknowledged and readable. */
  #committed: number;
  #batch: Batch | null = null;
  #dirty = new Set<Segment>();
  #flushing: Promise<void> | null = null;
  #unsynced = new Set<Segment>();
  #syncing: Promise<void> | null = null;
  #dirSyncNeeded: boolean;
  #rolled = false;
  #failed: Error | null = null;
  #closed = false;
  #waiters = new Set<Waiter>();
  #timers: NodeJS.Timeout[] = [];

  constructor(dir: string, config: LogConfig, segments: Segment[], report: OpenReport, dirSyncNeeded: boolean) {
    this.dir = dir;
    this.config = config;
    this.openReport = report;
    this.#segments = segments;
    this.#next = segments.at(-1)!.nextOffset;
    this.#committed = this.#next;
    this.#dirSyncNeeded = dirSyncNeeded;
    if (config.fsync === "interval") {
      this.#timers.push(setInterval(() => void this.#syncUnsynced().catch(() => {}), config.fsyncIntervalMs).unref());
    }
    if (config.retentionAgeMs > 0) {
      this.#timers.push(setInterval(() => this.#applyRetention(), config.retentionCheckIntervalMs).unref());
    }
  }

  get lowestOffset(): number {
    return this.#segments[0]!.baseOffset;
  }

  get nextOffset(): number {
    return this.#committed;
  }

  /** Number of segments (for tests and metrics). */
  get segmentCount(): number {
    return this.#segments.length;
  }

  /** Bytes of all store and index files. */
  get sizeBytes(): number {
    return this.#segments.reduce((sum, s) => sum + s.sizeBytes, 0);
  }

  append(value: Uint8Array): Promise<number> {
    if (this.#closed) return Promise.reject(new LogClosedError());
    if (this.#failed) return Promise.reject(this.#failed);
    if (value.length > this.config.maxRecordBytes) {
      return Promise.reject(new RecordTooLargeError(value.length, this.config.maxRecordBytes));
    }
    let segment = this.#segments.at(-1)!;
    if (segment.isFullFor(value.length)) {
      try {
        segment = Segment.create(this.dir, this.#next, this.config);
      } catch (err) {
        return Promise.reject(err); // e.g. EMFILE, ENOSPC: this append fails, the log stays usable
      }
      this.#segments.push(segment);
      this.#dirSyncNeeded = true;
      this.#rolled = true;
    }
    const offset = segment.append(value);
    this.#next = offset + 1;
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
    return batch.promise.then(() => offset);
  }

  /** Writes (and syncs, under "always") batch after batch until none is left. */
  async #flushLoop(): Promise<void> {
    // Let every append of this event-loop turn join the first batch.
    await new Promise((resolve) => setImmediate(resolve));
    const always = syncBeforeAck(this.config.fsync);
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
          // A full (rolled-over) segment is written for the last time: its index is synced too.
          if (always) await (segment === this.#segments.at(-1) ? segment.sync() : segment.syncAll());
          else this.#unsynced.add(segment);
        }
        if (always && this.#dirSyncNeeded) await this.#syncDir();
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
      this.#committed = batch.last + 1;
      batch.resolve();
      this.#wake();
      if (this.#rolled) {
        this.#rolled = false;
        this.#applyRetention();
      }
    }
    this.#flushing = null;
  }

  async #syncDir(): Promise<void> {
    this.#dirSyncNeeded = false;
    const fd = fs.openSync(this.dir, "r");
    try {
      await new Promise<void>((resolve, reject) => fs.fsync(fd, (err) => (err ? reject(err) : resolve())));
    } finally {
      fs.closeSync(fd);
    }
  }

  /** fsync of everything written since the last one ("interval" policy and close). */
  #syncUnsynced(): Promise<void> {
    if (this.#syncing) return this.#syncing;
    if (this.#unsynced.size === 0 && !this.#dirSyncNeeded) return Promise.resolve();
    const segments = [...this.#unsynced];
    this.#unsynced.clear();
    const run = async () => {
      try {
        for (const s of segments) {
          if (!this.#segments.includes(s)) continue;
          await (s === this.#segments.at(-1) ? s.sync() : s.syncAll());
        }
        if (this.#dirSyncNeeded) await this.#syncDir();
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

  #wake(): void {
    for (const w of this.#waiters) {
      if (w.offset < this.#committed) {
        this.#waiters.delete(w);
        w.resolve();
      }
    }
  }

  #checkRange(offset: number, allowNext: boolean): void {
    const lowest = this.lowestOffset;
    const next = this.#committed;
    if (!Number.isSafeInteger(offset) || offset < lowest || offset > next || (offset === next && !allowNext)) {
      throw new OffsetOutOfRangeError(offset, lowest, next);
    }
  }

  #segmentFor(offset: number): Segment {
    const segments = this.#segments;
    let lo = 0;
    let hi = segments.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (segments[mid]!.baseOffset <= offset) lo = mid;
      else hi = mid - 1;
    }
    return segments[lo]!;
  }

  read(offset: number): Uint8Array {
    if (this.#closed) throw new LogClosedError();
    this.#checkRange(offset, false);
    return this.#segmentFor(offset).read(offset);
  }

  readBatch(offset: number, maxBytes: number): LogRecord[] {
    if (this.#closed) throw new LogClosedError();
    this.#checkRange(offset, true);
    const out: LogRecord[] = [];
    if (offset < this.#committed) this.#segmentFor(offset).readBatch(offset, this.#committed, maxBytes, out);
    return out;
  }

  waitForRecords(offset: number, signal: AbortSignal): Promise<void> {
    if (offset < this.#committed) return Promise.resolve();
    if (this.#closed) return Promise.reject(new LogClosedError());
    if (signal.aborted) return Promise.reject(signal.reason);
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

  /** Every record from `from` (default the lowest) to the end as of the call. */
  async *reader(from = this.lowestOffset, batchBytes = 1024 * 1024): AsyncGenerator<LogRecord> {
    const end = this.#committed;
    let next = from;
    while (next < end) {
      for (const record of this.readBatch(next, batchBytes)) {
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
    let removed = 0;
    while (this.#segments.length > 1) {
      const oldest = this.#segments[0]!;
      if (oldest.nextOffset > lowest || !this.#removable(oldest)) break;
      this.#segments.shift();
      oldest.remove();
      removed++;
    }
    return removed;
  }

  #removable(segment: Segment): boolean {
    return segment !== this.#segments.at(-1) && !segment.dirty && segment.nextOffset <= this.#committed;
  }

  /** Size and age retention: removes oldest whole segments (never the active one). */
  #applyRetention(): void {
    const { retentionBytes, retentionAgeMs } = this.config;
    if (this.#closed || (retentionBytes === 0 && retentionAgeMs === 0)) return;
    let total = this.sizeBytes;
    const now = Date.now();
    while (this.#segments.length > 1) {
      const oldest = this.#segments[0]!;
      const tooBig = retentionBytes > 0 && total > retentionBytes;
      const tooOld = retentionAgeMs > 0 && now - oldest.lastWriteMs > retentionAgeMs;
      if ((!tooBig && !tooOld) || !this.#removable(oldest)) break;
      total -= oldest.sizeBytes;
      this.#segments.shift();
      oldest.remove();
    }
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
    while (this.#flushing) await this.#flushing;
    if (this.#syncing) await this.#syncing.catch(() => {});
    const err = new LogClosedError();
    for (const w of this.#waiters) w.reject(err);
    this.#waiters.clear();
    try {
      if (!this.#failed) {
        for (const s of this.#segments) await s.syncAll();
        await this.#syncDir();
      }
    } finally {
      for (const s of this.#segments) s.close();
    }
  }
}
