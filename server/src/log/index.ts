/**
 * A segment's index file (like proglog's index.go; this is not a package
 * export list): fixed-width entries mapping a record's offset relative to the
 * segment's base offset to its position in the store file.
 *
 *   relative offset  uint32 big-endian  (entry i holds i; a cheap sanity check)
 *   position         uint64 big-endian
 *
 * The positions are also kept in memory, so looking a record up costs no I/O.
 */
import fs from "node:fs";
import { writeAll } from "./store.ts";

/** Bytes of one index entry. */
export const indexEntryBytes = 12;

export class Index {
  readonly path: string;
  readonly fd: number;
  #positions: Float64Array;
  #count: number;
  /** Entries written to the file. */
  #written: number;
  #pending: Buffer;
  #pendingBytes = 0;

  private constructor(path: string, fd: number, positions: Float64Array, count: number) {
    this.path = path;
    this.fd = fd;
    this.#positions = positions;
    this.#count = count;
    this.#written = count;
    this.#pending = Buffer.allocUnsafe(indexEntryBytes * 256);
  }

  /**
   * Opens (creating if missing) an index file and loads its entries. Loading
   * stops at the first entry that is partial, out of sequence or not after
   * the previous position; `fileEntries` tells how many whole entries the file
   * had, so the caller can see that something was dropped.
   */
  static open(path: string): { index: Index; fileEntries: number } {
    const fd = fs.openSync(path, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o644);
    const data = fs.readFileSync(fd);
    const fileEntries = Math.floor(data.length / indexEntryBytes);
    const positions = new Float64Array(Math.max(1024, fileEntries));
    let count = 0;
    for (let i = 0; i < fileEntries; i++) {
      const at = i * indexEntryBytes;
      const rel = data.readUInt32BE(at);
      const pos = data.readUInt32BE(at + 4) * 2 ** 32 + data.readUInt32BE(at + 8);
      if (rel !== i || (i > 0 && pos <= positions[i - 1]!) || (i === 0 && pos !== 0)) break;
      positions[i] = pos;
      count++;
    }
    return { index: new Index(path, fd, positions, count), fileEntries };
  }

  /** Entries, including those not yet written to the file. */
  get count(): number {
    return this.#count;
  }

  get dirty(): boolean {
    return this.#pendingBytes > 0;
  }

  /** Store position of entry `i` (0 ≤ i < count). */
  position(i: number): number {
    return this.#positions[i]!;
  }

  /** Adds the next entry; written by the next `flush()`. */
  append(position: number): void {
    const i = this.#count;
    if (i === this.#positions.length) {
      const grown = new Float64Array(this.#positions.length * 2);
      grown.set(this.#positions);
      this.#positions = grown;
    }
    this.#positions[i] = position;
    this.#count++;
    if (this.#pendingBytes + indexEntryBytes > this.#pending.length) {
      const grown = Buffer.allocUnsafe(this.#pending.length * 2);
      this.#pending.copy(grown, 0, 0, this.#pendingBytes);
      this.#pending = grown;
    }
    const at = this.#pendingBytes;
    this.#pending.writeUInt32BE(i, at);
    this.#pending.writeUInt32BE(Math.floor(position / 2 ** 32), at + 4);
    this.#pending.writeUInt32BE(position >>> 0, at + 8);
    this.#pendingBytes += indexEntryBytes;
  }

  async flush(): Promise<void> {
    if (!this.dirty) return;
    const buf = this.#pending.subarray(0, this.#pendingBytes);
    const entries = this.#pendingBytes / indexEntryBytes;
    this.#pending = Buffer.allocUnsafe(this.#pending.length);
    this.#pendingBytes = 0;
    await writeAll(this.fd, [buf], this.#written * indexEntryBytes);
    this.#written += entries;
  }

  sync(): Promise<void> {
    return new Promise((resolve, reject) => fs.fdatasync(this.fd, (err) => (err ? reject(err) : resolve())));
  }

  /** Keeps the first `count` entries, in memory and in the file (recovery only). */
  truncate(count: number): void {
    if (this.dirty) throw new Error(`index ${this.path}: truncate with buffered writes`);
    fs.ftruncateSync(this.fd, count * indexEntryBytes);
    this.#count = count;
    this.#written = count;
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}
