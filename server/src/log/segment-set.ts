import type { LogConfig } from "./config.ts";
import type { Segment } from "./segment.ts";

/**
 * A log's segments in offset order; the last one is active (takes appends).
 * Only whole segments are removed, oldest first, never the active one and
 * never one holding records that are not written or not acknowledged.
 */
export class SegmentSet {
  readonly #segments: Segment[];

  /** `segments`: at least one, in offset order. */
  constructor(segments: Segment[]) {
    this.#segments = segments;
  }

  get active(): Segment {
    return this.#segments.at(-1)!;
  }

  get lowestOffset(): number {
    return this.#segments[0]!.baseOffset;
  }

  get count(): number {
    return this.#segments.length;
  }

  /** Bytes of all store and index files. */
  get sizeBytes(): number {
    return this.#segments.reduce((sum, s) => sum + s.sizeBytes, 0);
  }

  /** Every segment, oldest first. */
  all(): readonly Segment[] {
    return this.#segments;
  }

  /** Whether `s` was not removed. */
  has(s: Segment): boolean {
    return this.#segments.includes(s);
  }

  /** Adds a new active segment (a roll-over). */
  push(s: Segment): void {
    this.#segments.push(s);
  }

  /** The segment holding `offset` (which must be in range). */
  segmentFor(offset: number): Segment {
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

  /** fsync of a segment; a full (rolled-over) one is written for the last time, so its index is synced too. */
  sync(s: Segment): Promise<void> {
    return s === this.active ? s.sync() : s.syncAll();
  }

  /**
   * Removes every whole segment whose records all have offsets below
   * `lowest`. `committed`: offsets below it are acknowledged. Returns how
   * many were removed.
   */
  truncate(lowest: number, committed: number): number {
    let removed = 0;
    while (this.#segments.length > 1) {
      const oldest = this.#segments[0]!;
      if (oldest.nextOffset > lowest || !this.#removable(oldest, committed)) break;
      this.#segments.shift();
      oldest.remove();
      removed++;
    }
    return removed;
  }

  /** Size and age retention: removes the oldest whole segments beyond `retentionBytes` or older than `retentionAgeMs`. */
  applyRetention(config: Pick<LogConfig, "retentionBytes" | "retentionAgeMs">, committed: number): void {
    const { retentionBytes, retentionAgeMs } = config;
    let total = this.sizeBytes;
    const now = Date.now();
    while (this.#segments.length > 1) {
      const oldest = this.#segments[0]!;
      const tooBig = retentionBytes > 0 && total > retentionBytes;
      const tooOld = retentionAgeMs > 0 && now - oldest.lastWriteMs > retentionAgeMs;
      if ((!tooBig && !tooOld) || !this.#removable(oldest, committed)) break;
      total -= oldest.sizeBytes;
      this.#segments.shift();
      oldest.remove();
    }
  }

  #removable(segment: Segment, committed: number): boolean {
    return segment !== this.active && !segment.dirty && segment.nextOffset <= committed;
  }
}
