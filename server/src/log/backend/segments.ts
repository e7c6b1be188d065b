/** The embedded segment log (log.ts) behind the async CommitLog seam. */
import type { CommitLog, LogOffsets, LogRecord, StreamOptions } from "../commit-log.ts";
import type { SegmentedLog } from "../log.ts";
import { TurnBudget } from "../../turn-budget.ts";

/** Options of `segmentsBackend()`. */
export interface SegmentsBackendOptions {
  /** Bytes a stream reads from the store per (asynchronous, positioned) read. Default 64 KiB. */
  streamReadBytes?: number;
  /** Reads (of streamReadBytes) all streams together may start per event-loop turn. Default 4. */
  readsPerTurn?: number;
}

/** Serves `log` through the CommitLog interface; closing the backend closes the log. */
export function segmentsBackend(log: SegmentedLog, options: SegmentsBackendOptions = {}): CommitLog {
  const streamReadBytes = options.streamReadBytes ?? 64 * 1024;
  // Shared by every stream of this log: at most readsPerTurn reads per turn of the event loop.
  const turns = new TurnBudget(options.readsPerTurn ?? 4);
  return {
    get maxRecordBytes() {
      return log.config.maxRecordBytes;
    },
    append: (value) => log.append(value),
    read: (offset) => log.read(offset),
    offsets: async (): Promise<LogOffsets> => ({ lowest: log.lowestOffset, next: log.nextOffset }),
    async *stream(offset: number, { stopAtEnd, signal }: StreamOptions): AsyncGenerator<LogRecord> {
      let next = offset;
      for (;;) {
        signal.throwIfAborted();
        const batch = await log.readBatch(next, streamReadBytes);
        if (batch.length === 0) {
          if (stopAtEnd) return;
          await log.waitForRecords(next, signal);
          continue;
        }
        yield* batch;
        next = batch[batch.length - 1]!.offset + 1;
        // Fairness: a few reads per turn of the event loop across all streams
        // (turn-budget.ts), so many fast consumers cannot hold the loop while
        // other calls wait.
        await turns.next();
      }
    },
    close: () => log.close(),
  };
}
