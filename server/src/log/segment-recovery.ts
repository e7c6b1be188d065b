import fs from "node:fs";
import type { LogConfig } from "./config.ts";
import { Segment, type SegmentRecovery } from "./segment.ts";

/** What `openCommitLog` found and repaired. */
export interface OpenReport {
  segments: number;
  /** Empty segments after a torn roll-over, removed. */
  removedEmptySegments: number;
  repaired: Array<{ baseOffset: number } & SegmentRecovery>;
}

/** The segments of a log directory, checked and repaired. */
export interface LoadedSegments {
  /** At least one, in offset order. */
  segments: Segment[];
  report: OpenReport;
  /** A first segment was created: the directory needs an fsync. */
  dirSyncNeeded: boolean;
}

/**
 * Opens (creating and recovering as needed) the segments in `dir`: each
 * segment repairs itself (segment.ts); empty segments after a torn roll-over
 * are removed; a gap between segments is an error (records are missing).
 */
export async function loadSegments(dir: string, config: LogConfig): Promise<LoadedSegments> {
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
      segments.push(await Segment.open(dir, base, config));
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
      segments.push(Segment.create(dir, config.initialOffset, config));
      dirSyncNeeded = true;
    }
    return { segments, report, dirSyncNeeded };
  } catch (err) {
    for (const s of segments) s.close();
    throw err;
  }
}
