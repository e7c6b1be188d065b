import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import CRC32C from "crc-32/crc32c.js";
import { Store, StoreClosedError, decodeFrame, encodeFrame, frameHeaderBytes, readChunkBytes } from "./store.ts";

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "log-store-"));

test("CRC32C is the Castagnoli polynomial (check value of \"123456789\")", () => {
  assert.equal(CRC32C.str("123456789") >>> 0, 0xe3069283);
});

test("frames round-trip", () => {
  for (const size of [0, 1, 100, 4096, 70_000]) {
    const value = Buffer.alloc(size, size % 251);
    const buf = Buffer.alloc(frameHeaderBytes + size);
    encodeFrame(value, buf, 0);
    assert.equal(buf.readUInt32BE(0), size);
    const frame = decodeFrame(buf, 0, buf.length);
    assert.ok(!("error" in frame), `size ${size}`);
    assert.deepEqual(frame.value, value);
  }
});

test("decodeFrame rejects damaged frames", () => {
  const value = Buffer.from("hello, log");
  const good = Buffer.alloc(frameHeaderBytes + value.length);
  encodeFrame(value, good, 0);
  const flip = (at: number) => {
    const b = Buffer.from(good);
    b[at]! ^= 0x01;
    return b;
  };
  const cases: Array<{ name: string; buf: Buffer; frameBytes?: number; error: RegExp }> = [
    { name: "header cut", buf: good.subarray(0, 5), error: /truncated frame header/ },
    { name: "value cut", buf: good.subarray(0, good.length - 1), error: /truncated record/ },
    { name: "value byte flipped", buf: flip(frameHeaderBytes + 3), error: /checksum mismatch/ },
    { name: "checksum byte flipped", buf: flip(5), error: /checksum mismatch/ },
    { name: "length disagrees with index", buf: good, frameBytes: good.length + 1, error: /disagrees with the index/ },
    { name: "length flipped", buf: flip(3), error: /truncated record|checksum/ },
  ];
  for (const c of cases) {
    const frame = decodeFrame(c.buf, 0, c.frameBytes);
    assert.ok("error" in frame, c.name);
    assert.match(frame.error, c.error, c.name);
  }
});

test("append, flush, read back, reopen", async () => {
  const dir = tmp();
  try {
    const file = path.join(dir, "s.store");
    const store = Store.open(file);
    const values = [Buffer.from("a"), Buffer.alloc(0), Buffer.alloc(100_000, 7), Buffer.from("last")];
    const positions = values.map((v) => store.append(v));
    assert.ok(store.dirty);
    await assert.rejects(() => store.read(0, 1), /past the written end/);
    await store.flush();
    assert.ok(!store.dirty);
    assert.equal(fs.statSync(file).size, store.size);
    for (const [i, v] of values.entries()) {
      const end = positions[i + 1] ?? store.size;
      const frame = decodeFrame(await store.read(positions[i]!, end), 0, end - positions[i]!);
      assert.ok(!("error" in frame));
      assert.deepEqual(frame.value, v);
    }
    await store.sync();
    store.close();
    const again = Store.open(file);
    assert.equal(again.size, positions[3]! + frameHeaderBytes + 4);
    again.truncate(positions[3]!);
    assert.equal(fs.statSync(file).size, positions[3]);
    again.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("closing while reads are in flight: the file stays open until they end; later reads are refused", async () => {
  const dir = tmp();
  try {
    const store = Store.open(path.join(dir, "s.store"));
    const big = Buffer.alloc(3 * readChunkBytes + 5, 9); // several chunked reads
    const at = store.append(big);
    await store.flush();
    const reads = [store.read(at, store.size), store.read(at, at + frameHeaderBytes)];
    store.close();
    assert.doesNotThrow(() => fs.fstatSync(store.fd), "close(2) waits for the reads in flight");
    const [whole, header] = await Promise.all(reads);
    const frame = decodeFrame(whole!, 0, whole!.length);
    assert.ok(!("error" in frame));
    assert.deepEqual(frame.value, big);
    assert.equal(header!.readUInt32BE(0), big.length);
    assert.throws(() => fs.fstatSync(store.fd), { code: "EBADF" }, "closed once the last read ended");
    await assert.rejects(() => store.read(0, 1), StoreClosedError);
    store.close(); // idempotent
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
