import { Code, ConnectError } from "@connectrpc/connect";
import { compressedFlag, envelopeDecompress, type Compression, type Serialization } from "@connectrpc/connect/protocol";

/**
 * The fast paths' one frame decoder: splits the DATA chunks of a gRPC request
 * into enveloped messages (flags byte, big-endian uint32 length, payload),
 * used for the one message of a unary or server-streaming call (grpc-h2.ts)
 * and for the request stream of a client- or bidi-streaming call
 * (request-stream.ts).
 *
 * Why not connect's `createEnvelopeReadableStream`: it is a WHATWG stream (a
 * promise per read) over a decoder that copies every message into a new
 * array and checks no size limit; this one is synchronous, keeps a message
 * that arrived in one chunk without a copy, joins the chunks of a large one
 * once, and rejects an oversized declared length as soon as its prefix
 * arrives, so a client cannot make the server buffer it.
 */
export class EnvelopeSplitter {
  readonly #readMaxBytes: number;
  /** Chunks holding an envelope not yet complete. */
  #parts: Buffer[] = [];
  #bytes = 0;

  constructor(readMaxBytes: number) {
    this.#readMaxBytes = readMaxBytes;
  }

  /** Bytes received and not yet returned by `next()`. */
  get bufferedBytes(): number {
    return this.#bytes;
  }

  push(chunk: Buffer): void {
    this.#parts.push(chunk);
    this.#bytes += chunk.length;
  }

  /**
   * The next complete envelope (prefix included), or undefined until it has
   * arrived. Throws RESOURCE_EXHAUSTED (connect's wording) when the prefix
   * declares more than readMaxBytes.
   */
  next(): Buffer | undefined {
    if (this.#bytes < 5) return undefined;
    if (this.#parts[0]!.length < 5) this.#join();
    const size = this.#parts[0]!.readUInt32BE(1);
    if (size > this.#readMaxBytes) {
      throw new ConnectError(
        `message size ${size} is larger than configured readMaxBytes ${this.#readMaxBytes}`,
        Code.ResourceExhausted,
      );
    }
    const total = 5 + size;
    if (this.#bytes < total) return undefined;
    if (this.#parts[0]!.length < total) this.#join();
    const buf = this.#parts[0]!;
    let env: Buffer;
    if (buf.length === total) {
      env = buf;
      this.#parts.shift();
    } else {
      // A copy: the message must not pin the rest of the chunk.
      env = Buffer.from(buf.subarray(0, total));
      this.#parts[0] = buf.subarray(total);
    }
    this.#bytes -= total;
    return env;
  }

  /** Drops what is buffered. */
  clear(): void {
    this.#parts = [];
    this.#bytes = 0;
  }

  #join(): void {
    this.#parts = [Buffer.concat(this.#parts, this.#bytes)];
  }
}

/**
 * The message of one envelope. Uncompressed (the hot path) it is parsed at
 * once, synchronously; compressed, connect's `envelopeDecompress` inflates it
 * (INTERNAL when the call declared no grpc-encoding, RESOURCE_EXHAUSTED over
 * readMaxBytes) and `onDecompressed` runs before it is parsed.
 */
export function parseEnvelope<T>(
  env: Buffer,
  parser: Serialization<T>,
  compression: Compression | null,
  readMaxBytes: number,
  onDecompressed?: () => void,
): T | Promise<T> {
  const flags = env[0]!;
  const data = env.subarray(5);
  if ((flags & compressedFlag) === 0) return parser.parse(data);
  return envelopeDecompress({ flags, data }, compression, readMaxBytes).then((plain) => {
    onDecompressed?.();
    return parser.parse(plain.data);
  });
}

/**
 * Prefixes a message with its envelope.
 *
 * Why not connect's `encodeEnvelope`: it allocates a fresh zero-filled
 * Uint8Array and a DataView per message — 1.4 µs against 0.1–0.3 µs for this
 * pooled Buffer (90-byte message, Node 24), on every response of the unary
 * hot path.
 */
export function encodeEnvelope(bytes: Uint8Array, compressed: boolean): Buffer {
  const frame = Buffer.allocUnsafe(5 + bytes.length);
  frame[0] = compressed ? compressedFlag : 0;
  frame.writeUInt32BE(bytes.length, 1);
  frame.set(bytes, 5);
  return frame;
}
