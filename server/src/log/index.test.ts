import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { Index, indexEntryBytes } from "./index.ts";

test("entries round-trip through the file, also beyond 4 GiB positions", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "log-index-"));
  try {
    const file = path.join(dir, "i.index");
    const { index } = Index.open(file);
    const positions = [0, 10, 2 ** 32 + 5, 2 ** 40];
    for (let i = 0; i < 3000; i++) positions.push(2 ** 40 + (i + 1) * 20); // grows memory and write buffer
    for (const p of positions) index.append(p);
    assert.equal(index.count, positions.length);
    await index.flush();
    assert.equal(fs.statSync(file).size, positions.length * indexEntryBytes);
    index.close();
    const { index: again, fileEntries } = Index.open(file);
    assert.equal(fileEntries, positions.length);
    assert.equal(again.count, positions.length);
    for (const [i, p] of positions.entries()) assert.equal(again.position(i), p);
    again.truncate(2);
    assert.equal(fs.statSync(file).size, 2 * indexEntryBytes);
    again.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("loading stops at the first damaged entry", async () => {
  const entry = (rel: number, pos: number) => {
    const b = Buffer.alloc(indexEntryBytes);
    b.writeUInt32BE(rel, 0);
    b.writeUInt32BE(Math.floor(pos / 2 ** 32), 4);
    b.writeUInt32BE(pos >>> 0, 8);
    return b;
  };
  const cases: Array<{ name: string; data: Buffer; count: number; fileEntries: number }> = [
    { name: "empty", data: Buffer.alloc(0), count: 0, fileEntries: 0 },
    { name: "whole", data: Buffer.concat([entry(0, 0), entry(1, 9), entry(2, 20)]), count: 3, fileEntries: 3 },
    { name: "partial trailing entry", data: Buffer.concat([entry(0, 0), entry(1, 9), entry(2, 20).subarray(0, 5)]), count: 2, fileEntries: 2 },
    { name: "zeroed tail (power loss)", data: Buffer.concat([entry(0, 0), entry(1, 9), Buffer.alloc(24)]), count: 2, fileEntries: 4 },
    { name: "out of sequence", data: Buffer.concat([entry(0, 0), entry(5, 9), entry(2, 20)]), count: 1, fileEntries: 3 },
    { name: "position goes back", data: Buffer.concat([entry(0, 0), entry(1, 9), entry(2, 4)]), count: 2, fileEntries: 3 },
    { name: "first entry not at 0", data: Buffer.concat([entry(0, 8)]), count: 0, fileEntries: 1 },
  ];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "log-index-"));
  try {
    for (const [i, c] of cases.entries()) {
      const file = path.join(dir, `${i}.index`);
      fs.writeFileSync(file, c.data);
      const { index, fileEntries } = Index.open(file);
      assert.equal(index.count, c.count, c.name);
      assert.equal(fileEntries, c.fileEntries, c.name);
      index.close();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
