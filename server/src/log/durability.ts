/**
 * When the commit log forces appended records to stable storage.
 *
 * Every policy acknowledges a record only after its bytes were handed to the
 * OS with write(2), so an acknowledged record survives the process being
 * killed (kill -9) under all three. They differ on power loss / kernel crash:
 *
 * - "always": the store file is fdatasync'ed before the append is
 *   acknowledged (the index is rebuilt from the store on open, so it is only
 *   synced on close). Appends that arrive while a write+fsync is in flight are
 *   batched into the next one and share its fsync (group commit). Power loss
 *   loses no acknowledged record.
 * - "interval": the store is fdatasync'ed every `fsyncIntervalMs` when
 *   something was written. Power loss can lose records acknowledged during
 *   the last interval (plus the fsync's own duration); never an older one.
 * - "never": the OS writes dirty pages back when it likes (Linux: typically
 *   within ~30 s). Power loss can lose any record not yet written back.
 *   A clean close() still fsyncs.
 *
 * After a power loss the log recovers to a prefix of what was written: a torn
 * tail is cut off; reads verify checksums, so lost or garbled data is reported
 * as corruption, never served as a record.
 */
export type FsyncPolicy = "always" | "interval" | "never";

export const fsyncPolicies: readonly FsyncPolicy[] = ["always", "interval", "never"];

/** Parses a `--log-fsync` value. */
export function parseFsyncPolicy(text: string): FsyncPolicy {
  if ((fsyncPolicies as readonly string[]).includes(text)) return text as FsyncPolicy;
  throw new Error(`--log-fsync must be one of ${fsyncPolicies.join(", ")}, got "${text}"`);
}

/** Whether a write must be fsync'ed before it is acknowledged. */
export function syncBeforeAck(policy: FsyncPolicy): boolean {
  return policy === "always";
}
