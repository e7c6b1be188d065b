import { parseDurationMs as parseDuration } from "@switchboard/common/duration";
import type { FsyncPolicy } from "./durability.ts";

/**
 * Everything the commit log can be told. `openCommitLog()` takes a partial
 * object; every field has the default documented here (`defaultLogConfig`).
 */
export interface LogConfig {
  /**
   * A segment's store file rolls over to a new segment once it would grow
   * past this many bytes (a segment always holds at least one record).
   * Default 64 MiB.
   */
  maxStoreBytes: number;
  /**
   * A segment's index file rolls over once it would grow past this many
   * bytes; each record takes `indexEntryBytes` (12). Default 6 MiB
   * (524,288 records per segment).
   */
  maxIndexBytes: number;
  /** Offset of the first record of a new, empty log. Default 0. */
  initialOffset: number;
  /** Largest record value accepted, in bytes. Default 1 MiB. */
  maxRecordBytes: number;
  /**
   * When appended records are forced to stable storage (see durability.ts):
   * "always" (fsync before acknowledging, shared by concurrent appends —
   * group commit), "interval" (every `fsyncIntervalMs`) or "never" (left to
   * the OS). With every policy an acknowledged record has been written to
   * the OS, so it survives the process being killed. Default "always".
   */
  fsync: FsyncPolicy;
  /** Period of the "interval" policy, in milliseconds. Default 100. */
  fsyncIntervalMs: number;
  /**
   * Retention by size: while the log's files exceed this many bytes, whole
   * oldest segments are removed (never the active one). 0 = off (default).
   */
  retentionBytes: number;
  /**
   * Retention by age: a segment whose last write is older than this many
   * milliseconds is removed (never the active one). 0 = off (default).
   */
  retentionAgeMs: number;
  /** How often age retention is checked, in milliseconds. Default 1000. */
  retentionCheckIntervalMs: number;
}

export const defaultLogConfig: LogConfig = {
  maxStoreBytes: 64 * 1024 * 1024,
  maxIndexBytes: 6 * 1024 * 1024,
  initialOffset: 0,
  maxRecordBytes: 1024 * 1024,
  fsync: "always",
  fsyncIntervalMs: 100,
  retentionBytes: 0,
  retentionAgeMs: 0,
  retentionCheckIntervalMs: 1000,
};

/** Fills in defaults and rejects impossible values. */
export function resolveLogConfig(partial: Partial<LogConfig> = {}): LogConfig {
  const config: LogConfig = { ...defaultLogConfig };
  for (const [k, v] of Object.entries(partial)) {
    if (v !== undefined) (config as unknown as Record<string, unknown>)[k] = v;
  }
  for (const key of [
    "maxStoreBytes",
    "maxIndexBytes",
    "initialOffset",
    "maxRecordBytes",
    "fsyncIntervalMs",
    "retentionBytes",
    "retentionAgeMs",
    "retentionCheckIntervalMs",
  ] as const) {
    const v = config[key];
    if (!Number.isSafeInteger(v) || v < 0) throw new Error(`log config: ${key} must be a non-negative integer, got ${v}`);
  }
  if (config.maxIndexBytes < 12) throw new Error("log config: maxIndexBytes must hold at least one 12-byte entry");
  if (config.maxRecordBytes > 0xffff_fff0) throw new Error("log config: maxRecordBytes must be below 4 GiB");
  if (!["always", "interval", "never"].includes(config.fsync)) {
    throw new Error(`log config: fsync must be always, interval or never, got "${config.fsync}"`);
  }
  if (config.fsync === "interval" && config.fsyncIntervalMs < 1) {
    throw new Error("log config: fsyncIntervalMs must be at least 1");
  }
  return config;
}

/** A whole duration such as "500ms", "90s", "15m", "24h", "7d" or plain milliseconds, 0 allowed (the shared parser of common/src/duration.ts). */
export function parseDurationMs(flag: string, text: string): number {
  return parseDuration(text, { flag, min: 0, fractions: false });
}
