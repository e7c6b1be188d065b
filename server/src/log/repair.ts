/**
 * `--repair-log`: the way out when the newest segment ends in damage rather
 * than a torn write (a bad record followed by more data — e.g. garbage
 * appended to the file), which makes the log refuse to open. The newest
 * segment is cut at its last valid record; the cut bytes are moved to a
 * quarantine file next to it (`<store>.quarantine-<time>`, kept for
 * inspection, ignored by the log); every record before the damage stays
 * readable at its offset. Damage in an older segment is not repaired here
 * (cutting it would drop every later segment): that still refuses.
 */
import fs from "node:fs";
import path from "node:path";
import { resolveLogConfig, type LogConfig } from "./config.ts";
import { CorruptRecordError } from "./log-errors.ts";
import { Segment, segmentFileName, type QuarantinedTail } from "./segment.ts";

/** What `repairLogTail` did. */
export interface TailRepair extends QuarantinedTail {
  /** The repaired store file. */
  segment: string;
}

/** Base offsets of the segments in `dir`, ascending. */
function segmentBases(dir: string): number[] {
  const bases = new Set<number>();
  for (const name of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
    const m = /^(\d{20})\.(store|index)$/.exec(name);
    if (m) bases.add(Number(m[1]));
  }
  return [...bases].sort((a, b) => a - b);
}

/**
 * Cuts a damaged tail off the newest segment of the log in `dir`; undefined
 * when there was none (a torn write is cut too, as on every open, but not
 * reported here).
 */
export async function repairLogTail(dir: string, config: Partial<LogConfig> = {}): Promise<TailRepair | undefined> {
  const newest = segmentBases(dir).at(-1);
  if (newest === undefined) return undefined;
  const segment = await Segment.open(dir, newest, resolveLogConfig(config), { repairTail: true });
  segment.close();
  const q = segment.recovery.quarantined;
  if (q === undefined) return undefined;
  const fd = fs.openSync(dir, "r"); // make the quarantine file's name durable
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  return { segment: segment.store.path, ...q };
}

/**
 * The one-line message for a log that refuses to open because its newest
 * segment ends in damage, naming the repair command; undefined for any other
 * error (which is reported as it is).
 */
export function repairHint(err: unknown, dataDir: string): string | undefined {
  if (!(err instanceof CorruptRecordError) || !err.unindexedTail) return undefined;
  const dir = path.dirname(err.segment);
  const newest = segmentBases(dir).at(-1);
  if (newest === undefined || path.basename(err.segment) !== segmentFileName(newest, "store")) return undefined;
  return (
    `${err.message}. The log will not open on a damaged tail; to cut the newest segment at its last valid record ` +
    `(the cut bytes are moved to a quarantine file), run: npm start -- --repair-log --data-dir ${dataDir}`
  );
}
