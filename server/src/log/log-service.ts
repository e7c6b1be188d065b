import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import {
  LogService,
  OffsetOutOfRangeSchema,
  type ProduceStreamRequest,
  type Record as LogRecordMessage,
} from "../../../gen/log/v1/log_pb.js";
import { abortReason, invalidArgument, shuttingDown } from "../errors.ts";
import { TurnBudget } from "../turn-budget.ts";
import type { CommitLog } from "./log.ts";
import { CorruptRecordError, LogClosedError, OffsetOutOfRangeError, RecordTooLargeError } from "./log-errors.ts";

/** Options of `logService()`. */
export interface LogServiceOptions {
  /** Bytes ConsumeStream reads from the store per positioned read. Default 64 KiB. */
  streamReadBytes?: number;
  /** ConsumeStream reads (of streamReadBytes) all streams together may start per event-loop turn. Default 4. */
  readsPerTurn?: number;
  /** Appends of one ProduceStream that may await their acknowledgement at once. Default 1024. */
  produceStreamWindow?: number;
}

/** log.v1.LogService on top of a CommitLog. */
export function logService(log: CommitLog, options: LogServiceOptions = {}): ServiceImpl<typeof LogService> {
  const streamReadBytes = options.streamReadBytes ?? 64 * 1024;
  const window = options.produceStreamWindow ?? 1024;
  // Shared by every ConsumeStream of this service: at most 4 reads per turn of the event loop.
  const turns = new TurnBudget(options.readsPerTurn ?? 4);

  /** Checks a record synchronously, so ProduceStream stops reading at the first bad one. */
  const validate = (record: LogRecordMessage | undefined, where = ""): Uint8Array => {
    if (record === undefined) {
      throw invalidArgument(`${where}missing record`, [{ field: "record", description: "a record is required", reason: "REQUIRED" }]);
    }
    if (record.value.length > log.config.maxRecordBytes) {
      const err = new RecordTooLargeError(record.value.length, log.config.maxRecordBytes);
      throw new ConnectError(`${where}${err.message}`, Code.ResourceExhausted);
    }
    return record.value;
  };
  const append = async (value: Uint8Array): Promise<number> => {
    try {
      return await log.append(value);
    } catch (err) {
      throw toConnectError(err);
    }
  };

  return {
    async produce(req) {
      return { offset: BigInt(await append(validate(req.record))) };
    },

    consume(req) {
      try {
        const offset = toOffset(req.offset, log);
        return { record: { value: log.read(offset), offset: req.offset } };
      } catch (err) {
        throw toConnectError(err);
      }
    },

    async *consumeStream(req, ctx) {
      let next: number;
      try {
        next = toOffset(req.offset, log);
      } catch (err) {
        throw toConnectError(err);
      }
      for (;;) {
        if (ctx.signal.aborted) throw abortReason(ctx.signal);
        let batch;
        try {
          batch = log.readBatch(next, streamReadBytes);
        } catch (err) {
          throw toConnectError(err);
        }
        if (batch.length === 0) {
          if (req.stopAtEnd) return;
          try {
            await log.waitForRecords(next, ctx.signal);
          } catch (err) {
            if (ctx.signal.aborted) throw abortReason(ctx.signal);
            throw toConnectError(err);
          }
          continue;
        }
        for (const record of batch) {
          yield { record: { value: record.value, offset: BigInt(record.offset) } };
        }
        next = batch[batch.length - 1]!.offset + 1;
        // Fairness: a few reads per turn of the event loop across all streams
        // (turn-budget.ts), so many fast consumers cannot hold the loop while
        // other calls wait.
        await turns.next();
      }
    },

    produceStream(reqs, ctx) {
      return produceStream(reqs, ctx, validate, append, window);
    },

    getOffsets() {
      const lowest = log.lowestOffset;
      const next = log.nextOffset;
      const empty = lowest === next;
      return {
        lowestOffset: BigInt(lowest),
        highestOffset: empty ? 0n : BigInt(next - 1),
        nextOffset: BigInt(next),
        empty,
      };
    },
  };
}

/**
 * Appends every request as it arrives and acknowledges in order. Up to
 * `window` appends are in flight at once, so a stream shares group commits
 * with itself; when the client reads acks slower than it sends records, the
 * window fills, requests stop being read and HTTP/2 flow control pushes back.
 */
async function* produceStream(
  reqs: AsyncIterable<ProduceStreamRequest>,
  ctx: HandlerContext,
  validate: (record: LogRecordMessage | undefined, where: string) => Uint8Array,
  append: (value: Uint8Array) => Promise<number>,
  window: number,
): AsyncGenerator<{ offset: bigint }> {
  const acks: Array<Promise<number>> = [];
  let readerDone = false;
  let readerError: unknown;
  let stopped = false;
  const wakeWriter = new Wakeup();
  const wakeReader = new Wakeup();
  const onAbort = () => wakeReader.notify();
  ctx.signal.addEventListener("abort", onAbort);
  const reader = (async () => {
    try {
      let i = 0;
      for await (const req of reqs) {
        // The records before a bad one are appended and acknowledged; none after it.
        const ack = append(validate(req.record, `request #${i} of the stream: `));
        ack.catch(() => {}); // surfaced in order by the writer below
        acks.push(ack);
        i++;
        wakeWriter.notify();
        while (acks.length >= window && !stopped && !ctx.signal.aborted) await wakeReader.wait();
        if (stopped || ctx.signal.aborted) return;
      }
    } catch (err) {
      readerError = err;
    } finally {
      readerDone = true;
      wakeWriter.notify();
    }
  })();
  try {
    for (;;) {
      if (acks.length === 0) {
        if (readerDone) {
          if (readerError !== undefined) {
            if (ctx.signal.aborted) throw abortReason(ctx.signal);
            throw ConnectError.from(readerError);
          }
          return;
        }
        await wakeWriter.wait();
        continue;
      }
      const offset = await acks[0]!;
      acks.shift();
      wakeReader.notify();
      yield { offset: BigInt(offset) };
    }
  } finally {
    stopped = true;
    wakeReader.notify();
    ctx.signal.removeEventListener("abort", onAbort);
    void reader;
  }
}

/** Wakes one waiter; both sides check their condition synchronously before waiting, so no wake-up is lost. */
class Wakeup {
  #resolve: (() => void) | null = null;
  wait(): Promise<void> {
    return new Promise((resolve) => (this.#resolve = resolve));
  }
  notify(): void {
    const resolve = this.#resolve;
    this.#resolve = null;
    resolve?.();
  }
}

/** A request's uint64 offset as a number; beyond 2^53 it is out of range anyway. */
function toOffset(offset: bigint, log: CommitLog): number {
  if (offset > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new OffsetOutOfRangeError(Number.MAX_SAFE_INTEGER, log.lowestOffset, log.nextOffset, offset);
  }
  return Number(offset);
}

/** Maps engine errors to RPC errors. */
export function toConnectError(err: unknown): ConnectError {
  if (err instanceof ConnectError) return err;
  if (err instanceof OffsetOutOfRangeError) {
    const empty = err.lowest === err.next;
    return new ConnectError(err.message, Code.OutOfRange, undefined, [
      {
        desc: OffsetOutOfRangeSchema,
        value: create(OffsetOutOfRangeSchema, {
          requestedOffset: err.requestedBig ?? BigInt(err.requested),
          lowestOffset: BigInt(err.lowest),
          highestOffset: empty ? 0n : BigInt(err.next - 1),
          nextOffset: BigInt(err.next),
          empty,
        }),
      },
    ]);
  }
  if (err instanceof RecordTooLargeError) return new ConnectError(err.message, Code.ResourceExhausted);
  if (err instanceof CorruptRecordError) return new ConnectError(err.message, Code.DataLoss);
  if (err instanceof LogClosedError) {
    return err.cause === undefined ? shuttingDown() : new ConnectError(err.message, Code.Unavailable);
  }
  return ConnectError.from(err);
}
