/**
 * A segment: one store file and its index file, named after the segment's
 * base offset (`00000000000000000000.store` / `.index`). Records get
 * consecutive offsets from the base. Opening a segment recovers it from a
 * crash: a torn trailing record is cut off, and index entries are dropped or
 * rebuilt until the index describes exactly the valid records of the store.
 */
import fs from "node:fs";
import path from "node:path";
import { Index, indexEntryBytes } from "./index.ts";
import { CorruptRecordError } from "./log-errors.ts";
import { Store, decodeFrame, frameHeaderBytes } from "./store.ts";

/** Limits a segment is created with. */
export interface SegmentLimits {
  maxStoreBytes: number;
  maxIndexBytes: number;
  /** Largest valid record value; a bigger length field is corruption, not a torn write. */
  maxRecordBytes: number;
}

/** What opening a segment had to repair. */
export interface SegmentRecovery {
  /** Index entries dropped because their record was missing or invalid. */
  droppedIndexEntries: number;
  /** Index entries added from records found in the store. */
  rebuiltIndexEntries: number;
  /** Bytes cut off the end of the store (a torn write, or damage cut by `repairTail`). */
  truncatedStoreBytes: number;
  /** With `repairTail`: the damaged tail that was cut, and where its bytes went. */
  quarantined?: QuarantinedTail;
}

/** A damaged store tail cut by `repairTail` (see log/repair.ts). */
export interface QuarantinedTail {
  /** The file holding the cut bytes, next to the store. */
  file: string;
  /** Offset the first cut record had; every record before it is kept. */
  fromOffset: number;
  /** Store position of the cut. */
  fromPosition: number;
  bytes: number;
  /** Frames in the cut bytes, counted by their length fields (the damaged one included). */
  records: number;
}

/** Options of `Segment.open`. */
export interface SegmentOpenOptions {
  /**
   * Cut a bad record that is followed by more unindexed data (damage, not a
   * torn write) instead of refusing to open: the store is truncated at its
   * last valid record and the cut bytes are moved to
   * `<store>.quarantine-<time>`. Default false (throw CorruptRecordError).
   */
  repairTail?: boolean;
}

/** A record read back from the log. */
export interface LogRecord {
  offset: number;
  value: Uint8Array;
}

const scanWindowBytes = 1024 * 1024;

export function segmentFileName(baseOffset: number, ext: "store" | "index"): string {
  return `${String(baseOffset).padStart(20, "0")}.${ext}`;
}

export class Segment {
  readonly baseOffset: number;
  readonly store: Store;
  readonly index: Index;
  readonly recovery: SegmentRecovery;
  readonly #limits: SegmentLimits;
  /** Time of the last append (or the store's mtime when opened), for age retention. */
  lastWriteMs: number;

  private constructor(baseOffset: number, store: Store, index: Index, limits: SegmentLimits, recovery: SegmentRecovery) {
    this.baseOffset = baseOffset;
    this.store = store;
    this.index = index;
    this.#limits = limits;
    this.recovery = recovery;
    this.lastWriteMs = fs.fstatSync(store.fd).mtimeMs;
  }

  /** Opens (creating if missing) and recovers the segment at `baseOffset` in `dir`. */
  static async open(dir: string, baseOffset: number, limits: SegmentLimits, opts: SegmentOpenOptions = {}): Promise<Segment> {
    const store = Store.open(path.join(dir, segmentFileName(baseOffset, "store")));
    let index: Index | undefined;
    try {
      const opened = Index.open(path.join(dir, segmentFileName(baseOffset, "index")));
      index = opened.index;
      const recovery = await recover(store, index, opened.fileEntries, baseOffset, limits, opts.repairTail ?? false);
      return new Segment(baseOffset, store, index, limits, recovery);
    } catch (err) {
      store.close();
      index?.close();
      throw err;
    }
  }

  /** Creates a new, empty segment (its files must not exist yet). */
  static create(dir: string, baseOffset: number, limits: SegmentLimits): Segment {
    const storePath = path.join(dir, segmentFileName(baseOffset, "store"));
    if (fs.existsSync(storePath)) throw new Error(`segment ${storePath} already exists`);
    const store = Store.open(storePath);
    let index: Index;
    try {
      index = Index.open(path.join(dir, segmentFileName(baseOffset, "index"))).index;
    } catch (err) {
      store.close();
      fs.rmSync(storePath, { force: true });
      throw err;
    }
    return new Segment(baseOffset, store, index, limits, {
      droppedIndexEntries: 0,
      rebuiltIndexEntries: 0,
      truncatedStoreBytes: 0,
    });
  }

  /** Number of records. */
  get count(): number {
    return this.index.count;
  }

  /** Offset the next record appended here would get. */
  get nextOffset(): number {
    return this.baseOffset + this.index.count;
  }

  /** Bytes of both files. */
  get sizeBytes(): number {
    return this.store.size + this.index.count * indexEntryBytes;
  }

  get dirty(): boolean {
    return this.store.dirty || this.index.dirty;
  }

  /** Whether a value of this size must go to a new segment (an empty segment takes anything). */
  isFullFor(valueBytes: number): boolean {
    if (this.index.count === 0) return false;
    return (
      this.store.size + frameHeaderBytes + valueBytes > this.#limits.maxStoreBytes ||
      (this.index.count + 1) * indexEntryBytes > this.#limits.maxIndexBytes
    );
  }

  /** Buffers one record; returns its offset. Durable once flushed (and synced). */
  append(value: Uint8Array): number {
    const offset = this.baseOffset + this.index.count;
    this.index.append(this.store.append(value));
    this.lastWriteMs = Date.now();
    return offset;
  }

  /** Writes buffered records: the store first, then the index. */
  async flush(): Promise<void> {
    await this.store.flush();
    await this.index.flush();
  }

  /**
   * Makes the written records durable: fdatasync of the store only. The index
   * is derived data — on open, entries that are missing, zeroed or point past
   * the valid records are dropped and rebuilt from the store — so it is synced
   * only when the segment is full and on close (`syncAll`), which saves an
   * fsync per group commit.
   */
  async sync(): Promise<void> {
    await this.store.sync();
  }

  /** fdatasync of both files (clean close). */
  async syncAll(): Promise<void> {
    await Promise.all([this.store.sync(), this.index.sync()]);
  }

  /** End position (exclusive) of entry i. */
  #end(i: number): number {
    return i + 1 < this.index.count ? this.index.position(i + 1) : this.store.size;
  }

  /** Reads the record at `offset` (which must be in this segment and written). */
  async read(offset: number): Promise<Uint8Array> {
    const i = offset - this.baseOffset;
    const pos = this.index.position(i);
    const end = this.#end(i);
    const frame = decodeFrame(await this.store.read(pos, end), 0, end - pos);
    if ("error" in frame) throw new CorruptRecordError(this.store.path, offset, pos, frame.error);
    return frame.value;
  }

  /**
   * Reads records from `from` up to (not including) `to` with one
   * asynchronous positioned read (of ≤ 64 KiB chunks), stopping after about
   * `maxBytes` (at least one record) or before a corrupt record (which
   * throws when it is the first). Appends during the read do not change the
   * records it returns: their positions are taken before it starts.
   */
  async readBatch(from: number, to: number, maxBytes: number): Promise<LogRecord[]> {
    const first = from - this.baseOffset;
    const limit = Math.min(to, this.nextOffset) - this.baseOffset;
    const start = this.index.position(first);
    const ends = [this.#end(first)];
    while (first + ends.length < limit) {
      const end = this.#end(first + ends.length);
      if (end - start > maxBytes) break;
      ends.push(end);
    }
    const buf = await this.store.read(start, ends.at(-1)!);
    const out: LogRecord[] = [];
    let pos = start;
    for (const [k, end] of ends.entries()) {
      const frame = decodeFrame(buf, pos - start, end - pos);
      if ("error" in frame) {
        // Hand out the good records before it; the next read starts at the bad one and throws.
        if (k > 0) return out;
        throw new CorruptRecordError(this.store.path, from, pos, frame.error);
      }
      out.push({ offset: from + k, value: frame.value });
      pos = end;
    }
    return out;
  }

  close(): void {
    this.store.close();
    this.index.close();
  }

  /** Closes and deletes both files. */
  remove(): void {
    this.close();
    fs.rmSync(this.store.path, { force: true });
    fs.rmSync(this.index.path, { force: true });
  }
}

/**
 * Makes index and store agree: drops index entries whose record is not a
 * whole valid frame, indexes valid records the index lacks, cuts a torn
 * trailing record. A bad record that is followed by more data is corruption,
 * not a torn write: that throws a CorruptRecordError naming segment and offset.
 */
async function recover(
  store: Store,
  index: Index,
  fileEntries: number,
  baseOffset: number,
  limits: SegmentLimits,
  repairTail: boolean,
): Promise<SegmentRecovery> {
  const storeSize = store.size;
  let n = index.count;
  let scanFrom = 0;
  // The last indexed record must be whole and valid; drop entries until it is.
  while (n > 0) {
    const pos = index.position(n - 1);
    if (pos + frameHeaderBytes <= storeSize) {
      const length = (await store.read(pos, pos + frameHeaderBytes)).readUInt32BE(0);
      const end = pos + frameHeaderBytes + length;
      if (end <= storeSize) {
        const frame = decodeFrame(await store.read(pos, end), 0);
        if (!("error" in frame)) {
          scanFrom = end;
          break;
        }
      }
    }
    n--;
  }
  const droppedIndexEntries = fileEntries - n;
  if (n !== index.count || fileEntries * indexEntryBytes !== fs.fstatSync(index.fd).size || droppedIndexEntries > 0) {
    index.truncate(n);
  }
  // Index every valid record after the last indexed one.
  let pos = scanFrom;
  let rebuilt = 0;
  let window: Buffer = Buffer.alloc(0);
  let windowStart = pos;
  let quarantined: QuarantinedTail | undefined;
  while (pos < storeSize) {
    if (pos + frameHeaderBytes > windowStart + window.length || needsMore(window, pos - windowStart)) {
      windowStart = pos;
      window = await store.read(pos, Math.min(storeSize, pos + Math.max(scanWindowBytes, await frameLength(store, pos, storeSize))));
    }
    const frame = decodeFrame(window, pos - windowStart);
    if ("error" in frame) {
      const length = window.length - (pos - windowStart) >= 4 ? window.readUInt32BE(pos - windowStart) : 0;
      const atTail = pos + frameHeaderBytes + length >= storeSize || (await allZero(store, pos, storeSize));
      if (atTail && length <= limits.maxRecordBytes) break; // a torn write: cut below
      if (repairTail) {
        quarantined = await quarantine(store, pos, storeSize, baseOffset + n + rebuilt, limits.maxRecordBytes);
        break; // cut below
      }
      const err = new CorruptRecordError(store.path, baseOffset + n + rebuilt, pos, `${frame.error}; more data follows, so this is not a torn write`);
      err.unindexedTail = true;
      throw err;
    }
    index.append(pos);
    rebuilt++;
    pos += frame.frameBytes;
  }
  await index.flush();
  const truncatedStoreBytes = storeSize - pos;
  if (truncatedStoreBytes > 0) store.truncate(pos);
  if (rebuilt > 0 || truncatedStoreBytes > 0 || droppedIndexEntries > 0) {
    await Promise.all([store.sync(), index.sync()]);
  }
  return { droppedIndexEntries, rebuiltIndexEntries: rebuilt, truncatedStoreBytes, ...(quarantined && { quarantined }) };
}

/** Copies store bytes [from, to) to a new quarantine file (synced) before they are cut. */
async function quarantine(store: Store, from: number, to: number, fromOffset: number, maxRecordBytes: number): Promise<QuarantinedTail> {
  const file = `${store.path}.quarantine-${new Date().toISOString().replace(/[:.]/g, "-")}`;
  const fd = fs.openSync(file, "wx", 0o600);
  let records = 0;
  let next = from; // start of the next frame, by length fields
  try {
    for (let at = from; at < to; at += scanWindowBytes) {
      const buf = await store.read(at, Math.min(to, at + scanWindowBytes));
      fs.writeSync(fd, buf);
    }
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  while (next + frameHeaderBytes <= to) {
    const length = (await store.read(next, next + 4)).readUInt32BE(0);
    if (length > maxRecordBytes) break;
    records++;
    next += frameHeaderBytes + length;
  }
  if (next < to && records === 0) records = 1; // not even one plausible frame: count the damage as one
  return { file, fromOffset, fromPosition: from, bytes: to - from, records };
}

/** Whether the window lacks the whole frame starting at `at`. */
function needsMore(window: Buffer, at: number): boolean {
  if (window.length - at < frameHeaderBytes) return true;
  return window.length - at < frameHeaderBytes + window.readUInt32BE(at);
}

/** Length of the frame at `pos` per its header (0 when the header is cut off). */
async function frameLength(store: Store, pos: number, storeSize: number): Promise<number> {
  if (pos + frameHeaderBytes > storeSize) return 0;
  return frameHeaderBytes + (await store.read(pos, pos + 4)).readUInt32BE(0);
}

/** Whether bytes [from, to) are all zero (a file extended but never written, after power loss). */
async function allZero(store: Store, from: number, to: number): Promise<boolean> {
  for (let at = from; at < to; at += scanWindowBytes) {
    const buf = await store.read(at, Math.min(to, at + scanWindowBytes));
    for (const b of buf) if (b !== 0) return false;
  }
  return true;
}
