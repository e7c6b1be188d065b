import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { indexEntryBytes } from "./index.ts";
import { CorruptRecordError } from "./log-errors.ts";
import { Segment, segmentFileName } from "./segment.ts";
import { frameHeaderBytes } from "./store.ts";

const limits = { maxStoreBytes: 1024, maxIndexBytes: indexEntryBytes * 3, maxRecordBytes: 1000 };
const value = (i: number) => Buffer.from(`record-${i}`.repeat(i + 1));

async function withDir(fn: (dir: string) => Promise<void>) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "log-segment-"));
  try {
    await fn(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** A segment at base 16 holding records 0..n-1, flushed and closed. */
async function written(dir: string, n: number, lim = { ...limits, maxIndexBytes: 1024 }): Promise<void> {
  const s = Segment.create(dir, 16, lim);
  for (let i = 0; i < n; i++) s.append(value(i));
  await s.flush();
  s.close();
}

test("append, read, batch read, full, reopen", async () => {
  await withDir(async (dir) => {
    const s = Segment.create(dir, 16, limits);
    assert.equal(s.nextOffset, 16);
    assert.equal(s.isFullFor(5000), false, "an empty segment takes any record");
    for (let i = 0; i < 3; i++) assert.equal(s.append(value(i)), 16 + i);
    assert.equal(s.isFullFor(1), true, "index holds 3 entries");
    await s.flush();
    for (let i = 0; i < 3; i++) assert.deepEqual(Buffer.from(await s.read(16 + i)), value(i));
    const out = await s.readBatch(17, 19, 1 << 20);
    assert.deepEqual(out.map((r) => r.offset), [17, 18]);
    const small = await s.readBatch(16, 19, 1);
    assert.equal(small.length, 1, "at least one record even when over maxBytes");
    s.close();
    const again = await Segment.open(dir, 16, limits);
    assert.equal(again.nextOffset, 19);
    assert.deepEqual(again.recovery, { droppedIndexEntries: 0, rebuiltIndexEntries: 0, truncatedStoreBytes: 0 });
    assert.deepEqual(Buffer.from(await again.read(18)), value(2));
    again.close();
  });
  await withDir(async (dir) => {
    const s = Segment.create(dir, 0, { ...limits, maxIndexBytes: 1 << 20 });
    s.append(Buffer.alloc(1000));
    assert.equal(s.isFullFor(16), true, "store would pass maxStoreBytes");
    assert.equal(s.isFullFor(1024 - 1008 - frameHeaderBytes), false);
    s.close();
  });
});

test("recovery after crashes and damage", async () => {
  const storeOf = (dir: string) => path.join(dir, segmentFileName(16, "store"));
  const indexOf = (dir: string) => path.join(dir, segmentFileName(16, "index"));
  const cases: Array<{
    name: string;
    damage(dir: string): void;
    next?: number;
    recovery?: { droppedIndexEntries: number; rebuiltIndexEntries: number; truncatedStoreBytes: number };
    error?: RegExp;
  }> = [
    {
      name: "torn trailing record",
      damage: (dir) => fs.truncateSync(storeOf(dir), fs.statSync(storeOf(dir)).size - 3),
      next: 20,
      recovery: { droppedIndexEntries: 1, rebuiltIndexEntries: 0, truncatedStoreBytes: frameHeaderBytes + value(4).length - 3 },
    },
    {
      name: "torn header of the trailing record",
      damage: (dir) => fs.truncateSync(storeOf(dir), fs.statSync(storeOf(dir)).size - value(4).length - 5),
      next: 20,
      recovery: { droppedIndexEntries: 1, rebuiltIndexEntries: 0, truncatedStoreBytes: 3 },
    },
    {
      name: "index missing",
      damage: (dir) => fs.rmSync(indexOf(dir)),
      next: 21,
      recovery: { droppedIndexEntries: 0, rebuiltIndexEntries: 5, truncatedStoreBytes: 0 },
    },
    {
      name: "index shorter, with a torn entry",
      damage: (dir) => fs.truncateSync(indexOf(dir), 2 * indexEntryBytes + 7),
      next: 21,
      recovery: { droppedIndexEntries: 0, rebuiltIndexEntries: 3, truncatedStoreBytes: 0 },
    },
    {
      name: "zeros after the last record (file grown, data lost on power loss)",
      damage: (dir) => fs.appendFileSync(storeOf(dir), Buffer.alloc(40)),
      next: 21,
      recovery: { droppedIndexEntries: 0, rebuiltIndexEntries: 0, truncatedStoreBytes: 40 },
    },
    {
      name: "index entry beyond the store (written, store write lost)",
      damage: (dir) => {
        const b = Buffer.alloc(indexEntryBytes);
        b.writeUInt32BE(5, 0);
        b.writeUInt32BE(fs.statSync(storeOf(dir)).size, 8);
        fs.appendFileSync(indexOf(dir), b);
      },
      next: 21,
      recovery: { droppedIndexEntries: 1, rebuiltIndexEntries: 0, truncatedStoreBytes: 0 },
    },
    {
      name: "flipped byte in an unindexed record followed by more data",
      damage: (dir) => {
        fs.truncateSync(indexOf(dir), indexEntryBytes);
        const fd = fs.openSync(storeOf(dir), "r+");
        const at = frameHeaderBytes + value(0).length + frameHeaderBytes + 2; // inside record 17
        const b = Buffer.alloc(1);
        fs.readSync(fd, b, 0, 1, at);
        b[0]! ^= 0xff;
        fs.writeSync(fd, b, 0, 1, at);
        fs.closeSync(fd);
      },
      error: /corrupt record at offset 17 in segment .*00000000000000000016\.store.*checksum mismatch/,
    },
  ];
  for (const c of cases) {
    await withDir(async (dir) => {
      await written(dir, 5);
      c.damage(dir);
      if (c.error) {
        await assert.rejects(Segment.open(dir, 16, limits), (err) => err instanceof CorruptRecordError && c.error!.test(err.message), c.name);
        return;
      }
      const s = await Segment.open(dir, 16, { ...limits, maxIndexBytes: 1024 });
      assert.equal(s.nextOffset, c.next, c.name);
      assert.deepEqual(s.recovery, c.recovery, c.name);
      for (let o = 16; o < s.nextOffset; o++) assert.deepEqual(Buffer.from(await s.read(o)), value(o - 16), `${c.name}: offset ${o}`);
      assert.equal(fs.statSync(indexOf(dir)).size, (s.nextOffset - 16) * indexEntryBytes, `${c.name}: index file`);
      // The next append continues right after the recovered records.
      assert.equal(s.append(Buffer.from("next")), c.next);
      await s.flush();
      s.close();
      const again = await Segment.open(dir, 16, { ...limits, maxIndexBytes: 1024 });
      assert.equal(again.nextOffset, c.next! + 1, `${c.name}: reopened`);
      assert.deepEqual(Buffer.from(await again.read(c.next!)), Buffer.from("next"));
      again.close();
    });
  }
});

test("a flipped byte in an indexed record is reported on read, naming segment and offset", async () => {
  await withDir(async (dir) => {
    await written(dir, 5);
    const file = path.join(dir, segmentFileName(16, "store"));
    const data = fs.readFileSync(file);
    data[frameHeaderBytes + value(0).length + frameHeaderBytes + value(1).length + 4]! ^= 0x10; // record 18
    fs.writeFileSync(file, data);
    const s = await Segment.open(dir, 16, { ...limits, maxIndexBytes: 1024 });
    assert.deepEqual(Buffer.from(await s.read(17)), value(1));
    await assert.rejects(
      () => s.read(18),
      (err) =>
        err instanceof CorruptRecordError &&
        err.offset === 18 &&
        err.segment === file &&
        err.message.includes(`${path.basename(dir)}/${segmentFileName(16, "store")}`) &&
        !err.message.includes(dir), // the message names it relative to the data dir, never by absolute path
    );
    const good = await s.readBatch(16, 21, 1 << 20);
    assert.deepEqual(good.map((r) => r.offset), [16, 17], "a batch stops before the bad record");
    await assert.rejects(() => s.readBatch(18, 21, 1 << 20), /corrupt record at offset 18/);
    assert.deepEqual(Buffer.from(await s.read(19)), value(3));
    s.close();
  });
});
