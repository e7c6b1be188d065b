import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import type { LogConfig } from "./config.ts";
import { indexEntryBytes } from "./index.ts";
import { CorruptRecordError, LogClosedError, OffsetOutOfRangeError, RecordTooLargeError } from "./log-errors.ts";
import { openCommitLog } from "./log.ts";
import { segmentFileName } from "./segment.ts";

const value = (i: number) => Buffer.from(`value ${i} `.repeat((i % 7) + 1));

async function withDir(fn: (dir: string) => Promise<void>) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "commit-log-"));
  try {
    await fn(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const small: Partial<LogConfig> = { maxStoreBytes: 256, maxIndexBytes: indexEntryBytes * 5 };

test("append and read across roll-overs under every fsync policy, reopen continues", async () => {
  for (const fsync of ["always", "interval", "never"] as const) {
    await withDir(async (dir) => {
      const log = await openCommitLog(dir, { ...small, fsync, fsyncIntervalMs: 5, initialOffset: 100 });
      assert.equal(log.lowestOffset, 100);
      assert.equal(log.nextOffset, 100);
      const offsets = await Promise.all(Array.from({ length: 40 }, (_, i) => log.append(value(i))));
      assert.deepEqual(offsets, Array.from({ length: 40 }, (_, i) => 100 + i), fsync);
      assert.ok(log.segmentCount >= 8, `${fsync}: rolled over (${log.segmentCount} segments)`);
      for (let i = 0; i < 40; i++) assert.deepEqual(Buffer.from(await log.read(100 + i)), value(i), `${fsync} #${i}`);
      const all = [];
      for await (const r of log.reader()) all.push(r);
      assert.deepEqual(all.map((r) => r.offset), offsets);
      await log.close();
      const again = await openCommitLog(dir, small);
      assert.equal(again.lowestOffset, 100);
      assert.equal(again.nextOffset, 140);
      assert.deepEqual(again.openReport.repaired, []);
      assert.equal(await again.append(Buffer.from("x")), 140);
      assert.deepEqual(Buffer.from(await again.read(139)), value(39));
      await again.close();
    });
  }
});

test("range errors, size limit, empty values", async () => {
  await withDir(async (dir) => {
    const log = await openCommitLog(dir, { maxRecordBytes: 10 });
    const range = (offset: number, lowest: number, next: number) => (err: unknown) =>
      err instanceof OffsetOutOfRangeError && err.requested === offset && err.lowest === lowest && err.next === next;
    await assert.rejects(() => log.read(0), range(0, 0, 0));
    assert.deepEqual(await log.readBatch(0, 100), [], "reading at the next offset is empty, not an error");
    await assert.rejects(() => log.readBatch(1, 100), range(1, 0, 0));
    assert.equal(await log.append(new Uint8Array(0)), 0, "empty values are records");
    assert.equal((await log.read(0)).length, 0);
    await assert.rejects(log.append(new Uint8Array(11)), RecordTooLargeError);
    assert.equal(await log.append(new Uint8Array(10)), 1);
    await assert.rejects(() => log.read(2), range(2, 0, 2));
    await assert.rejects(() => log.read(-1), OffsetOutOfRangeError);
    await assert.rejects(() => log.read(0.5), OffsetOutOfRangeError);
    await log.close();
    await assert.rejects(log.append(Buffer.from("late")), LogClosedError);
    await assert.rejects(() => log.read(0), LogClosedError);
  });
});

test("truncate removes whole old segments, never the active one", async () => {
  await withDir(async (dir) => {
    const log = await openCommitLog(dir, small);
    for (let i = 0; i < 23; i++) await log.append(Buffer.alloc(10, i)); // 5 per segment
    assert.equal(log.segmentCount, 5);
    assert.equal(log.truncate(7), 1, "segment 0-4 is below 7; 5-9 is not");
    assert.equal(log.lowestOffset, 5);
    await assert.rejects(() => log.read(4), OffsetOutOfRangeError);
    assert.deepEqual(Buffer.from(await log.read(5)), Buffer.alloc(10, 5));
    assert.equal(log.truncate(1000), 3, "the active segment stays");
    assert.equal(log.lowestOffset, 20);
    assert.ok(!fs.existsSync(path.join(dir, segmentFileName(0, "store"))));
    await log.close();
    const again = await openCommitLog(dir, small);
    assert.equal(again.lowestOffset, 20);
    assert.equal(again.nextOffset, 23);
    await again.close();
  });
});

test("retention by size and by age", async () => {
  await withDir(async (dir) => {
    const log = await openCommitLog(dir, { ...small, retentionBytes: 400 });
    for (let i = 0; i < 50; i++) await log.append(Buffer.alloc(10, i));
    assert.ok(log.sizeBytes <= 400 + 256 + 5 * indexEntryBytes, `size ${log.sizeBytes}`);
    assert.ok(log.lowestOffset > 0, "old segments were removed");
    assert.deepEqual(Buffer.from(await log.read(49)), Buffer.alloc(10, 49));
    await log.close();
  });
  await withDir(async (dir) => {
    const log = await openCommitLog(dir, { ...small, retentionAgeMs: 60_000, retentionCheckIntervalMs: 10 });
    for (let i = 0; i < 12; i++) await log.append(Buffer.alloc(10, i));
    log.applyRetention();
    assert.equal(log.lowestOffset, 0, "young segments stay");
    await log.close();
    // Age the old segments' files; the age is taken from the store's mtime when opened.
    const old = new Date(Date.now() - 3_600_000);
    for (const base of [0, 5]) fs.utimesSync(path.join(dir, segmentFileName(base, "store")), old, old);
    const again = await openCommitLog(dir, { ...small, retentionAgeMs: 60_000, retentionCheckIntervalMs: 10 });
    for (let i = 0; i < 100 && again.lowestOffset === 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(again.lowestOffset, 10, "the timer removed the aged segments");
    await again.close();
  });
});

test("waitForRecords is woken by an append and honours its signal", async () => {
  await withDir(async (dir) => {
    const log = await openCommitLog(dir);
    const ac = new AbortController();
    const woken = log.waitForRecords(0, ac.signal);
    let done = false;
    void woken.then(() => (done = true));
    await new Promise((r) => setImmediate(r));
    assert.equal(done, false);
    await log.append(Buffer.from("a"));
    await woken;
    const aborted = log.waitForRecords(1, ac.signal);
    ac.abort(new Error("client went away"));
    await assert.rejects(aborted, /client went away/);
    const closing = assert.rejects(log.waitForRecords(1, new AbortController().signal), LogClosedError);
    await log.close();
    await closing;
  });
});

test("many concurrent appenders get gapless offsets and their own bytes back", async () => {
  await withDir(async (dir) => {
    const log = await openCommitLog(dir, { maxStoreBytes: 4096 });
    const got = new Map<number, Buffer>();
    await Promise.all(
      Array.from({ length: 32 }, async (_, p) => {
        for (let i = 0; i < 40; i++) {
          const v = Buffer.from(`producer ${p} record ${i}`);
          got.set(await log.append(v), v);
        }
      }),
    );
    assert.equal(got.size, 32 * 40);
    for (let o = 0; o < 32 * 40; o++) assert.deepEqual(Buffer.from(await log.read(o)), got.get(o), `offset ${o}`);
    await log.close();
  });
});

test("a flipped byte mid-log is a clear error on read; the rest stays readable", async () => {
  await withDir(async (dir) => {
    const log = await openCommitLog(dir, small);
    for (let i = 0; i < 12; i++) await log.append(value(i));
    await log.close();
    const file = path.join(dir, segmentFileName(5, "store"));
    const data = fs.readFileSync(file);
    data[8 + 3]! ^= 0x40; // inside the value of offset 5
    fs.writeFileSync(file, data);
    const again = await openCommitLog(dir, small);
    await assert.rejects(
      () => again.read(5),
      (err) => err instanceof CorruptRecordError && err.offset === 5 && err.segment === file && /checksum mismatch/.test(err.message),
    );
    assert.deepEqual(Buffer.from(await again.read(6)), value(6));
    await again.close();
  });
});

test("a torn roll-over (last batch of a segment cut, next segment empty) recovers", async () => {
  await withDir(async (dir) => {
    const log = await openCommitLog(dir, small);
    for (let i = 0; i < 5; i++) await log.append(Buffer.alloc(10, i));
    await log.close();
    // As if killed mid-write: the segment's last two records are torn off, the
    // next segment's files already exist (created at the roll-over) but are empty.
    const store = path.join(dir, segmentFileName(0, "store"));
    fs.truncateSync(store, fs.statSync(store).size - 18 - 5);
    fs.writeFileSync(path.join(dir, segmentFileName(5, "store")), "");
    fs.writeFileSync(path.join(dir, segmentFileName(5, "index")), "");
    const again = await openCommitLog(dir, small);
    assert.equal(again.openReport.removedEmptySegments, 1);
    assert.equal(again.nextOffset, 3);
    assert.ok(!fs.existsSync(path.join(dir, segmentFileName(5, "store"))));
    assert.equal(await again.append(Buffer.from("x")), 3);
    await again.close();
  });
});

test("a missing segment in the middle is reported, not papered over", async () => {
  await withDir(async (dir) => {
    const log = await openCommitLog(dir, small);
    for (let i = 0; i < 12; i++) await log.append(Buffer.alloc(10));
    await log.close();
    fs.rmSync(path.join(dir, segmentFileName(5, "store")));
    fs.rmSync(path.join(dir, segmentFileName(5, "index")));
    await assert.rejects(openCommitLog(dir, small), /ends before offset 5 but the next segment starts at 10/);
  });
});

test("reads racing with retention: a record removed while its read is in flight is OUT_OF_RANGE, never a crash", async () => {
  const range = (offset: number, lowest: number, next: number) => (err: unknown) =>
    err instanceof OffsetOutOfRangeError && err.requested === offset && err.lowest === lowest && err.next === next;
  type Log = Awaited<ReturnType<typeof openCommitLog>>;
  const truncateTo5 = (log: Log) => void log.truncate(5); // removes segment 0-4
  const ageRetention = (log: Log) => log.applyRetention(); // removes 0-4 and 5-9 (all but the active one)
  const cases: Array<{
    name: string;
    read: (log: Log) => Promise<unknown>;
    remove: (log: Log) => void;
    expect: { lowest: number; offset: number } | { records: number[] } | { value: number };
  }> = [
    { name: "read, its segment truncated", read: (l) => l.read(2), remove: truncateTo5, expect: { lowest: 5, offset: 2 } },
    { name: "readBatch, its segment truncated", read: (l) => l.readBatch(0, 1 << 20), remove: truncateTo5, expect: { lowest: 5, offset: 0 } },
    { name: "read, its segment removed by age retention", read: (l) => l.read(7), remove: ageRetention, expect: { lowest: 10, offset: 7 } },
    { name: "readBatch, its segment removed by age retention", read: (l) => l.readBatch(6, 1 << 20), remove: ageRetention, expect: { lowest: 10, offset: 6 } },
    { name: "read, another segment removed", read: (l) => l.read(7), remove: truncateTo5, expect: { value: 7 } },
    { name: "readBatch, another segment removed", read: (l) => l.readBatch(5, 1 << 20), remove: truncateTo5, expect: { records: [5, 6, 7, 8, 9] } },
  ];
  for (const c of cases) {
    await withDir(async (dir) => {
      const first = await openCommitLog(dir, small);
      for (let i = 0; i < 12; i++) await first.append(value(i)); // segments 0-4, 5-9, 10-11 (active)
      await first.close();
      const closedAt = Date.now();
      while (Date.now() - closedAt < 5) await new Promise((r) => setTimeout(r, 5));
      // Reopened with age retention: every segment is older than 1 ms, but
      // retention runs only when asked (or after a roll-over).
      const log = await openCommitLog(dir, { ...small, retentionAgeMs: 1, retentionCheckIntervalMs: 3_600_000 });
      assert.equal(log.segmentCount, 3, c.name);
      // The read starts (its read(2) is on the thread pool) and the removal
      // runs in the same turn, before the read can complete.
      const pending = c.read(log);
      c.remove(log);
      if ("offset" in c.expect) {
        await assert.rejects(pending, range(c.expect.offset, c.expect.lowest, 12), c.name);
      } else if ("value" in c.expect) {
        assert.deepEqual(Buffer.from((await pending) as Uint8Array), value(c.expect.value), c.name);
      } else {
        const got = (await pending) as Array<{ offset: number; value: Uint8Array }>;
        assert.deepEqual(got.map((r) => r.offset), c.expect.records, c.name);
        for (const r of got) assert.deepEqual(Buffer.from(r.value), value(r.offset), `${c.name}: offset ${r.offset}`);
      }
      assert.ok(!fs.existsSync(path.join(dir, segmentFileName(0, "store"))), `${c.name}: segment 0 was deleted`);
      // The log goes on: new segments (new descriptors) are written and read correctly.
      for (let i = 12; i < 30; i++) assert.equal(await log.append(value(i)), i, c.name);
      for (let i = log.lowestOffset; i < 30; i++) assert.deepEqual(Buffer.from(await log.read(i)), value(i), `${c.name}: offset ${i}`);
      await log.close();
    });
  }
});

test("a read in flight when the log closes completes; reads after close are refused", async () => {
  await withDir(async (dir) => {
    const log = await openCommitLog(dir, small);
    for (let i = 0; i < 7; i++) await log.append(value(i));
    const pending = [log.read(3), log.readBatch(5, 1 << 20)];
    await log.close();
    const [one, batch] = await Promise.all(pending);
    assert.deepEqual(Buffer.from(one as Uint8Array), value(3));
    assert.deepEqual((batch as Array<{ offset: number }>).map((r) => r.offset), [5, 6]);
    await assert.rejects(() => log.read(3), LogClosedError);
    await assert.rejects(() => log.readBatch(5, 1 << 20), LogClosedError);
  });
});
