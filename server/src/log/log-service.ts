import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import {
  LogService,
  OffsetOutOfRangeSchema,
  type ProduceStreamRequest,
  type Record as LogRecordMessage,
} from "@switchboard/gen/log/v1/log_pb.js";
import { abortReason, invalidArgument, shuttingDown } from "../errors.ts";
import { beforeDeadline } from "./before-deadline.ts";
import { LogUnavailableError, type CommitLog } from "./commit-log.ts";
import { CorruptRecordError, LogClosedError, OffsetOutOfRangeError, RecordTooLargeError } from "./log-errors.ts";

/** Options of `logService()`. */
export interface LogServiceOptions {
  /** Appends of one ProduceStream that may await their acknowledgement at once. Default 1024. */
  produceStreamWindow?: number;
  /** Told about every acknowledged append (bytes, seconds from append to ack); for the metrics. */
  onAppended?: (bytes: number, seconds: number) => void;
}

/** log.v1.LogService on top of a CommitLog. */
export function logService(log: CommitLog, options: LogServiceOptions = {}): ServiceImpl<typeof LogService> {
  const window = options.produceStreamWindow ?? 1024;

  /** Checks a record synchronously, so ProduceStream stops reading at the first bad one. */
  const validate = (record: LogRecordMessage | undefined, where = ""): Uint8Array => {
    if (record === undefined) {
      throw invalidArgument(`${where}missing record`, [{ field: "record", description: "a record is required", reason: "REQUIRED" }]);
    }
    if (record.value.length > log.maxRecordBytes) {
      const err = new RecordTooLargeError(record.value.length, log.maxRecordBytes);
      throw new ConnectError(`${where}${err.message}`, Code.ResourceExhausted);
    }
    return record.value;
  };
  const onAppended = options.onAppended;
  const append = async (value: Uint8Array, signal?: AbortSignal): Promise<number> => {
    try {
      if (onAppended === undefined) return await log.append(value, signal);
      const start = performance.now();
      const offset = await log.append(value, signal);
      onAppended(value.length, (performance.now() - start) / 1000);
      return offset;
    } catch (err) {
      throw toConnectError(err);
    }
  };

  return {
    async produce(req, ctx) {
      return { offset: BigInt(await append(validate(req.record), beforeDeadline(ctx))) };
    },

    async consume(req, ctx) {
      try {
        const offset = await toOffset(req.offset, log);
        return { record: { value: await log.read(offset, ctx.signal), offset: req.offset } };
      } catch (err) {
        throw toConnectError(err);
      }
    },

    async *consumeStream(req, ctx) {
      try {
        const from = await toOffset(req.offset, log);
        for await (const record of log.stream(from, { stopAtEnd: req.stopAtEnd, signal: ctx.signal })) {
          yield { record: { value: record.value, offset: BigInt(record.offset) } };
        }
      } catch (err) {
        if (ctx.signal.aborted) throw abortReason(ctx.signal);
        throw toConnectError(err);
      }
    },

    produceStream(reqs, ctx) {
      const signal = beforeDeadline(ctx);
      return produceStream(reqs, ctx, validate, (value) => append(value, signal), window);
    },

    async getOffsets(_req, ctx) {
      let lowest: number, next: number;
      try {
        ({ lowest, next } = await log.offsets(ctx.signal));
      } catch (err) {
        throw toConnectError(err);
      }
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
async function toOffset(offset: bigint, log: CommitLog): Promise<number> {
  if (offset > BigInt(Number.MAX_SAFE_INTEGER)) {
    const { lowest, next } = await log.offsets();
    throw new OffsetOutOfRangeError(Number.MAX_SAFE_INTEGER, lowest, next, offset);
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
  if (err instanceof LogUnavailableError) return new ConnectError(err.message, Code.Unavailable);
  if (err instanceof LogClosedError) {
    return err.cause === undefined ? shuttingDown() : new ConnectError(err.message, Code.Unavailable);
  }
  return ConnectError.from(err);
}
