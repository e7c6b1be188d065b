import path from "node:path";

/** Errors of the commit log engine; log-service.ts maps them to RPC codes. */

/** An offset below the lowest retained one or at/after the next one. */
export class OffsetOutOfRangeError extends Error {
  readonly requested: number;
  readonly lowest: number;
  /** Offset the next record will get; lowest === next means empty. */
  readonly next: number;
  /** The requested offset when it does not fit a number (beyond 2^53). */
  readonly requestedBig?: bigint;
  constructor(requested: number, lowest: number, next: number, requestedBig?: bigint) {
    super(
      lowest === next
        ? `offset ${requestedBig ?? requested} is out of range: the log is empty (next offset ${next})`
        : `offset ${requestedBig ?? requested} is out of range: the log holds offsets ${lowest} to ${next - 1}`,
    );
    this.name = "OffsetOutOfRangeError";
    this.requested = requested;
    if (requestedBig !== undefined) this.requestedBig = requestedBig;
    this.lowest = lowest;
    this.next = next;
  }
}

/**
 * Stored bytes that fail their checksum or framing: never served as data.
 * The message names the segment relative to the data directory (the log
 * directory's parent, e.g. `log/00000000000000000005.store`): it reaches
 * clients as DATA_LOSS and must not reveal server paths; `segment` keeps the
 * full path for the operator.
 */
export class CorruptRecordError extends Error {
  readonly segment: string;
  readonly offset: number;
  readonly position: number;
  /** Found past the indexed records while opening (repairable with `--repair-log` in the newest segment). */
  unindexedTail = false;
  constructor(segment: string, offset: number, position: number, reason: string) {
    const shown = path.join(path.basename(path.dirname(segment)), path.basename(segment));
    super(`corrupt record at offset ${offset} in segment ${shown} (store position ${position}): ${reason}`);
    this.name = "CorruptRecordError";
    this.segment = segment;
    this.offset = offset;
    this.position = position;
  }
}

/** A record value above `maxRecordBytes`. */
export class RecordTooLargeError extends Error {
  readonly size: number;
  readonly limit: number;
  constructor(size: number, limit: number) {
    super(`record of ${size} bytes exceeds the limit of ${limit} bytes`);
    this.name = "RecordTooLargeError";
    this.size = size;
    this.limit = limit;
  }
}

/** The log was closed, or a write failed and it stopped accepting appends. */
export class LogClosedError extends Error {
  constructor(message = "the commit log is closed", options?: ErrorOptions) {
    super(message, options);
    this.name = "LogClosedError";
  }
}
