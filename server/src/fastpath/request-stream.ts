import type { Message } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Compression, Serialization } from "@connectrpc/connect/protocol";
import type { MessageCompression } from "../message-compression.ts";
import { EnvelopeSplitter, parseEnvelope } from "./envelope.ts";

/** Stop reading from the socket when this many message bytes wait unread by the implementation. */
const highWaterBytes = 32 * 1024;
/** … or this many messages (bounds the per-message objects for small messages). */
const highWaterCount = 128;

/** What the request stream needs from its HTTP/2 stream: flow control. */
export interface Pausable {
  pause(): unknown;
  resume(): unknown;
}

/**
 * The request messages of a client- or bidi-streaming gRPC call, as the
 * AsyncIterable the implementation reads.
 *
 * Why hand-written: connect-node turns the request body into messages with a
 * chain of async generators (read → split envelopes → decompress → parse),
 * a few promises and objects per message. Here DATA chunks are split into
 * envelopes synchronously as they arrive (envelope.ts); a message is
 * decompressed and parsed only when the implementation asks for it.
 *
 * Back-pressure: when more than 32 KiB (or 128 messages) are waiting, the
 * HTTP/2 stream is paused, so Node stops acknowledging flow-control window and
 * the client has to wait; reading resumes once the implementation has taken
 * messages. The buffer is therefore bounded by the pause threshold plus what
 * one stream window lets the client send.
 *
 * Errors follow connect: an oversized message (RESOURCE_EXHAUSTED), a
 * compressed message without grpc-encoding (INTERNAL), a body ending inside
 * an envelope (INVALID_ARGUMENT) and the call's abort reason (cancel,
 * deadline) are thrown from the iterator, where the implementation sees them.
 */
export class RequestStream implements AsyncIterable<Message>, AsyncIterator<Message> {
  readonly #source: Pausable;
  readonly #parser: Serialization<Message>;
  readonly #readMaxBytes: number;
  /** The request's compression (grpc-encoding), if any. */
  readonly #compression: Compression | null;
  /** Complete envelopes (flags byte + payload) not yet taken. */
  #queue: Buffer[] = [];
  #queueHead = 0;
  #queuedBytes = 0;
  /** The envelope not yet complete. */
  readonly #splitter: EnvelopeSplitter;
  #ended = false;
  #error: unknown;
  #paused = false;
  /** The implementation stopped reading (return()); further data is dropped. */
  #discard = false;
  /** Marked when a message is decompressed (see message-compression.ts). */
  compression: MessageCompression | undefined;
  #waiter: { resolve: (r: IteratorResult<Message>) => void; reject: (e: unknown) => void } | undefined;

  constructor(source: Pausable, parser: Serialization<Message>, readMaxBytes: number, compression: Compression | null) {
    this.#source = source;
    this.#parser = parser;
    this.#readMaxBytes = readMaxBytes;
    this.#compression = compression;
    this.#splitter = new EnvelopeSplitter(readMaxBytes);
  }

  [Symbol.asyncIterator](): AsyncIterator<Message> {
    return this;
  }

  /** A DATA chunk from the stream. */
  push(chunk: Buffer): void {
    if (this.#discard || this.#error !== undefined) return;
    this.#splitter.push(chunk);
    let added = false;
    for (;;) {
      let env: Buffer | undefined;
      try {
        env = this.#splitter.next();
      } catch (err) {
        // Messages before the oversized one are still delivered, then the error.
        this.#fail(err);
        return;
      }
      if (env === undefined) break;
      this.#queue.push(env);
      this.#queuedBytes += env.length;
      added = true;
    }
    if (added) this.#wake();
    if (
      !this.#paused &&
      (this.#queuedBytes >= highWaterBytes || this.#queue.length - this.#queueHead >= highWaterCount)
    ) {
      this.#paused = true;
      this.#source.pause();
    }
  }

  /** The client half-closed the stream. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    if (this.#splitter.bufferedBytes > 0 && this.#error === undefined && !this.#discard) {
      this.#dropParts();
      this.#fail(new ConnectError("protocol error: incomplete envelope", Code.InvalidArgument));
      return;
    }
    this.#wake();
  }

  /** The call was aborted (cancel, deadline, shutdown of the call): readers get `reason`. */
  abort(reason: unknown): void {
    if (this.#error === undefined && !(this.#ended && this.#available() === 0)) {
      // Unread messages are dropped: the call is over, the reason comes next.
      this.#error = reason;
    }
    this.#drop();
  }

  /** The call is answered: stop buffering, let the client's remaining data drain. */
  close(): void {
    this.#discard = true;
    this.#drop();
  }

  next(): Promise<IteratorResult<Message>> {
    if (this.#waiter !== undefined) return Promise.reject(new Error("concurrent next() on a request stream"));
    if (this.#available() > 0) return this.#take();
    if (this.#error !== undefined) return Promise.reject(this.#error);
    if (this.#ended || this.#discard) return Promise.resolve({ done: true, value: undefined });
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
  }

  return(): Promise<IteratorResult<Message>> {
    this.#discard = true;
    this.#drop();
    return Promise.resolve({ done: true, value: undefined });
  }

  #available(): number {
    return this.#queue.length - this.#queueHead;
  }

  #take(): Promise<IteratorResult<Message>> {
    const env = this.#queue[this.#queueHead]!;
    this.#queue[this.#queueHead++] = undefined as never;
    if (this.#queueHead === this.#queue.length) {
      this.#queue = [];
      this.#queueHead = 0;
    } else if (this.#queueHead >= 1024) {
      this.#queue = this.#queue.slice(this.#queueHead);
      this.#queueHead = 0;
    }
    this.#queuedBytes -= env.length;
    if (this.#paused && this.#queuedBytes < highWaterBytes / 2 && this.#available() < highWaterCount / 2) {
      this.#paused = false;
      this.#source.resume();
    }
    try {
      const value = parseEnvelope(env, this.#parser, this.#compression, this.#readMaxBytes, () => {
        if (this.compression !== undefined) this.compression.requestCompressed = true;
      });
      return value instanceof Promise
        ? value.then((v) => ({ done: false, value: v }))
        : Promise.resolve({ done: false, value });
    } catch (err) {
      return Promise.reject(err);
    }
  }

  #wake(): void {
    const w = this.#waiter;
    if (w === undefined) return;
    this.#waiter = undefined;
    this.next().then(w.resolve, w.reject);
  }

  /** Ends the stream with `err`, thrown after the messages already queued. */
  #fail(err: unknown): void {
    this.#error = err;
    this.#dropParts();
    this.#wake();
  }

  #dropParts(): void {
    this.#splitter.clear();
  }

  #drop(): void {
    this.#queue = [];
    this.#queueHead = 0;
    this.#queuedBytes = 0;
    this.#dropParts();
    if (this.#paused) {
      this.#paused = false;
      this.#source.resume();
    }
    this.#wake();
  }
}
