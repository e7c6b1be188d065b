/**
 * The seam between log.v1.LogService and where its records live. Two
 * backends implement it: the embedded segment log (backend/segments.ts, the
 * zero-setup default) and a NATS JetStream stream shared by every instance
 * (backend/jetstream.ts, `--nats`). Everything is async, because a replicated
 * log answers over the network. Offsets are integers < 2^53.
 */
import type { LogRecord } from "./segment.ts";

export type { LogRecord } from "./segment.ts";

/** The retained range: [lowest, next); lowest === next means empty. */
export interface LogOffsets {
  lowest: number;
  next: number;
}

export interface StreamOptions {
  /** End after the records that exist when the stream reaches the end, instead of following live appends. */
  stopAtEnd: boolean;
  /** Ends the stream (the iterator rejects with the signal's reason). */
  signal: AbortSignal;
}

export interface CommitLog {
  /** Largest record value `append` accepts, in bytes; bigger → RecordTooLargeError. */
  readonly maxRecordBytes: number;
  /**
   * Appends a record; resolves with its offset once it is stored as the
   * backend promises (fsync policy / quorum). `signal` is the caller's
   * deadline: a backend that retries gives up when it aborts.
   */
  append(value: Uint8Array, signal?: AbortSignal): Promise<number>;
  /** The record at `offset`; OffsetOutOfRangeError outside [lowest, next). */
  read(offset: number, signal?: AbortSignal): Promise<Uint8Array>;
  /** The retained range as of now. */
  offsets(signal?: AbortSignal): Promise<LogOffsets>;
  /**
   * Records from `offset` on, in order and without gaps, then (unless
   * `stopAtEnd`) every record appended later. Rejects with
   * OffsetOutOfRangeError when `offset` is outside [lowest, next]. The
   * consumer pulls: records are read ahead only a bounded amount.
   */
  stream(offset: number, options: StreamOptions): AsyncIterable<LogRecord>;
  /**
   * Calls `listener` whenever the backend becomes (un)available; returns the
   * unsubscribe function. Optional: the embedded log is always available.
   */
  onAvailability?(listener: (available: boolean) => void): () => void;
  close(): Promise<void>;
}

/** The backend cannot be reached (NATS down, no JetStream leader until the deadline). */
export class LogUnavailableError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "LogUnavailableError";
  }
}
