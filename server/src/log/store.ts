/**
 * A segment's store file: records framed as
 *
 *   length  uint32 big-endian   bytes of the value
 *   crc     uint32 big-endian   CRC32C (Castagnoli) of the length field + value
 *   value   `length` bytes
 *
 * Appends are copied into an in-memory write buffer and written with one
 * positioned writev(2) per flush (write coalescing). Reads are asynchronous
 * positioned reads (fs.read on the thread pool) of at most 64 KiB each, so a
 * read never blocks the event loop. Closing a store while reads are in flight
 * defers the close(2) until they end, so a read never sees its descriptor
 * closed or reused for another file.
 */
import fs from "node:fs";
// SheetJS crc-32: pure JS, no native build, no dependencies. Node's zlib.crc32
// is CRC-32/ISO-HDLC, a different polynomial from CRC32C.
import CRC32C from "crc-32/crc32c.js";

/** Bytes of a frame's header (length + checksum). */
export const frameHeaderBytes = 8;

/** Size of the in-memory write buffer chunks. */
const chunkBytes = 64 * 1024;

/** Largest single read(2) a `Store.read` issues: bigger ranges are read in chunks of this size. */
export const readChunkBytes = 64 * 1024;

/** A read of a store that was closed (e.g. its segment removed by retention) before the read began. */
export class StoreClosedError extends Error {
  constructor(path: string) {
    super(`store ${path} is closed`);
    this.name = "StoreClosedError";
  }
}

/** CRC32C over the 4-byte length field and the value. */
export function frameChecksum(value: Uint8Array, lengthField: Uint8Array): number {
  return CRC32C.buf(value, CRC32C.buf(lengthField)) >>> 0;
}

/** Writes one frame at `at` in `target` (which must have room). */
export function encodeFrame(value: Uint8Array, target: Buffer, at: number): void {
  target.writeUInt32BE(value.length, at);
  target.writeUInt32BE(frameChecksum(value, target.subarray(at, at + 4)), at + 4);
  target.set(value, at + frameHeaderBytes);
}

/**
 * Checks the frame at `at` in `buf` that must span exactly `frameBytes` (when
 * known) and returns its value, or a reason why it is not a valid frame.
 */
export function decodeFrame(
  buf: Buffer,
  at: number,
  frameBytes?: number,
): { value: Buffer; frameBytes: number } | { error: string } {
  if (buf.length - at < frameHeaderBytes) return { error: "truncated frame header" };
  const length = buf.readUInt32BE(at);
  const total = frameHeaderBytes + length;
  if (frameBytes !== undefined && total !== frameBytes) {
    return { error: `length field ${length} disagrees with the index (frame of ${frameBytes} bytes)` };
  }
  if (buf.length - at < total) return { error: `truncated record (length field ${length})` };
  const value = buf.subarray(at + frameHeaderBytes, at + total);
  const want = buf.readUInt32BE(at + 4);
  if (frameChecksum(value, buf.subarray(at, at + 4)) !== want) return { error: "checksum mismatch" };
  return { value, frameBytes: total };
}

/** Appends framed records to one file and reads ranges of it back. */
export class Store {
  readonly path: string;
  readonly fd: number;
  /** Bytes appended, including those still in the write buffer. */
  #size: number;
  /** Bytes written to the file. */
  #written: number;
  #full: Buffer[] = [];
  #chunk: Buffer | null = null;
  #used = 0;
  /** Reads in flight; close(2) waits for them. */
  #reading = 0;
  #closing = false;
  #closed = false;

  private constructor(path: string, fd: number, size: number) {
    this.path = path;
    this.fd = fd;
    this.#size = size;
    this.#written = size;
  }

  /** Opens (creating if missing) a store file. */
  static open(path: string): Store {
    const fd = fs.openSync(path, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o644);
    return new Store(path, fd, fs.fstatSync(fd).size);
  }

  /** Bytes appended so far, including the write buffer. */
  get size(): number {
    return this.#size;
  }

  /** Whether appended bytes wait in the write buffer. */
  get dirty(): boolean {
    return this.#size > this.#written;
  }

  /** Buffers one record; returns its position. Written by the next `flush()`. */
  append(value: Uint8Array): number {
    const frameBytes = frameHeaderBytes + value.length;
    if (this.#chunk === null || this.#chunk.length - this.#used < frameBytes) {
      if (this.#chunk !== null && this.#used > 0) this.#full.push(this.#chunk.subarray(0, this.#used));
      this.#chunk = Buffer.allocUnsafe(Math.max(chunkBytes, frameBytes));
      this.#used = 0;
    }
    encodeFrame(value, this.#chunk, this.#used);
    this.#used += frameBytes;
    const pos = this.#size;
    this.#size += frameBytes;
    return pos;
  }

  /** Writes the write buffer to the file with one positioned writev. */
  async flush(): Promise<void> {
    if (!this.dirty) return;
    const bufs = this.#full;
    if (this.#chunk !== null && this.#used > 0) bufs.push(this.#chunk.subarray(0, this.#used));
    this.#full = [];
    this.#chunk = null;
    this.#used = 0;
    const at = this.#written;
    const end = this.#size;
    await writeAll(this.fd, bufs, at);
    this.#written = end;
  }

  /** fdatasync: the written bytes (and the file size) reach stable storage. */
  sync(): Promise<void> {
    return new Promise((resolve, reject) => fs.fdatasync(this.fd, (err) => (err ? reject(err) : resolve())));
  }

  /**
   * Reads bytes [from, to) of the written part of the file into a new buffer,
   * with positioned reads of at most `readChunkBytes` on the thread pool.
   * Throws StoreClosedError when the store was closed before the call.
   */
  async read(from: number, to: number): Promise<Buffer> {
    if (this.#closing) throw new StoreClosedError(this.path);
    if (to > this.#written) throw new Error(`store ${this.path}: read past the written end (${to} > ${this.#written})`);
    const buf = Buffer.allocUnsafe(to - from);
    this.#reading++;
    try {
      let done = 0;
      while (done < buf.length) {
        const n = await readAt(this.fd, buf, done, Math.min(readChunkBytes, buf.length - done), from + done);
        if (n === 0) throw new Error(`store ${this.path}: file ends at ${from + done}, expected ${to} bytes`);
        done += n;
      }
      return buf;
    } finally {
      this.#reading--;
      if (this.#closing && this.#reading === 0) this.#closeNow();
    }
  }

  /** Cuts the file to `size` bytes (recovery only; nothing may be buffered). */
  truncate(size: number): void {
    if (this.dirty) throw new Error(`store ${this.path}: truncate with buffered writes`);
    fs.ftruncateSync(this.fd, size);
    this.#size = size;
    this.#written = size;
  }

  /** Closes the file now, or when the reads in flight end. Later reads throw StoreClosedError. */
  close(): void {
    this.#closing = true;
    if (this.#reading === 0) this.#closeNow();
  }

  #closeNow(): void {
    if (this.#closed) return;
    this.#closed = true;
    fs.closeSync(this.fd);
  }
}

/** One positioned read(2) on the thread pool. */
function readAt(fd: number, buf: Buffer, offset: number, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) =>
    fs.read(fd, buf, offset, length, position, (err, n) => (err ? reject(err) : resolve(n))),
  );
}

/** writev(2) until every byte is written (writev may write less). */
export async function writeAll(fd: number, bufs: Buffer[], position: number): Promise<void> {
  let pos = position;
  let rest = bufs;
  while (rest.length > 0) {
    const n = await new Promise<number>((resolve, reject) =>
      fs.writev(fd, rest, pos, (err, written) => (err ? reject(err) : resolve(written))),
    );
    pos += n;
    let skip = n;
    const next: Buffer[] = [];
    for (const b of rest) {
      if (skip >= b.length) skip -= b.length;
      else {
        next.push(skip > 0 ? b.subarray(skip) : b);
        skip = 0;
      }
    }
    rest = next;
  }
}
