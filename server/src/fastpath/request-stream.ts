import type { Message } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { compressionGzip } from "@connectrpc/connect-node";
import type { Serialization } from "@connectrpc/connect/protocol";
import type { MessageCompression } from "../message-compression.ts";

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
 * envelopes synchronously as they arrive; a message is decompressed and
 * parsed only when the implementation asks for it.
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
  readonly #gzip: boolean;
  /** Complete envelopes (flags byte + payload) not yet taken. */
  #queue: Buffer[] = [];
  #queueHead = 0;
  #queuedBytes = 0;
  /** Chunks holding an envelope not yet complete. */
  #parts: Buffer[] = [];
  #partsBytes = 0;
  #ended = false;
  #error: unknown;
  #paused = false;
  /** The implementation stopped reading (return()); further data is dropped. */
  #discard = false;
  /** Marked when a message is decompressed (see message-compression.ts). */
  compression: MessageCompression | undefined;
  #waiter: { resolve: (r: IteratorResult<Message>) => void; reject: (e: unknown) => void } | undefined;

  constructor(source: Pausable, parser: Serialization<Message>, readMaxBytes: number, gzip: boolean) {
    this.#source = source;
    this.#parser = parser;
    this.#readMaxBytes = readMaxBytes;
    this.#gzip = gzip;
  }

  [Symbol.asyncIterator](): AsyncIterator<Message> {
    return this;
  }

  /** A DATA chunk from the stream. */
  push(chunk: Buffer): void {
    if (this.#discard || this.#error !== undefined) return;
    // Chunks of an incomplete envelope are kept as a list and joined once the
    // envelope is complete, so a large message costs one copy, not one per chunk.
    this.#parts.push(chunk);
    this.#partsBytes += chunk.length;
    let added = false;
    while (this.#partsBytes >= 5) {
      if (this.#parts[0]!.length < 5) this.#join();
      const head = this.#parts[0]!;
      const size = head.readUInt32BE(1);
      if (size > this.#readMaxBytes) {
        this.#fail(
          new ConnectError(
            `message size ${size} is larger than configured readMaxBytes ${this.#readMaxBytes}`,
            Code.ResourceExhausted,
          ),
        );
        return;
      }
      if (this.#partsBytes < 5 + size) break;
      if (head.length < 5 + size) this.#join();
      const buf = this.#parts[0]!;
      // A copy when the chunk holds more: the payload must not pin the whole chunk.
      const env = buf.length === 5 + size ? buf : Buffer.from(buf.subarray(0, 5 + size));
      this.#queue.push(env);
      this.#queuedBytes += env.length;
      added = true;
      if (buf.length === 5 + size) this.#parts.shift();
      else this.#parts[0] = buf.subarray(5 + size);
      this.#partsBytes -= 5 + size;
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

  /** Joins the buffered parts into one buffer. */
  #join(): void {
    this.#parts = [Buffer.concat(this.#parts, this.#partsBytes)];
  }

  /** The client half-closed the stream. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    if (this.#partsBytes > 0 && this.#error === undefined && !this.#discard) {
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
      const data = env.subarray(5);
      if ((env[0]! & 1) === 1) {
        if (!this.#gzip) {
          throw new ConnectError("received compressed envelope, but do not know how to decompress", Code.Internal);
        }
        return compressionGzip
          .decompress(data, this.#readMaxBytes)
          .then((plain) => {
            const value = this.#parser.parse(plain);
            if (this.compression !== undefined) this.compression.requestCompressed = true;
            return { done: false, value };
          });
      }
      return Promise.resolve({ done: false, value: this.#parser.parse(data) });
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
    this.#parts = [];
    this.#partsBytes = 0;
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
