import assert from "node:assert/strict";
import { test } from "node:test";
import { parseServerArgs } from "../config.ts";
import { defaultLogConfig, parseDurationMs, resolveLogConfig } from "./config.ts";

test("--log-* flags", async () => {
  const cases: Array<{ args: string[]; want?: object; error?: RegExp }> = [
    { args: [], want: undefined },
    { args: ["--log-fsync", "interval", "--log-fsync-interval-ms", "250"], want: { fsync: "interval", fsyncIntervalMs: 250 } },
    { args: ["--log-fsync", "never"], want: { fsync: "never" } },
    { args: ["--log-fsync", "sometimes"], error: /--log-fsync must be one of always, interval, never/ },
    { args: ["--log-fsync-interval-ms", "0"], error: /must be positive/ },
    {
      args: ["--log-max-segment-bytes", "1048576", "--log-max-index-bytes", "1200", "--log-max-record-bytes", "4096"],
      want: { maxStoreBytes: 1048576, maxIndexBytes: 1200, maxRecordBytes: 4096 },
    },
    { args: ["--log-retention-bytes", "1000000", "--log-retention-age", "7d"], want: { retentionBytes: 1000000, retentionAgeMs: 7 * 86_400_000 } },
    { args: ["--log-retention-age", "soon"], error: /--log-retention-age must be a duration/ },
    { args: ["--log-max-record-bytes=-1"], error: /non-negative integer/ },
    { args: ["--log-max-segment-bytes", "lots"], error: /non-negative integer/ },
  ];
  for (const c of cases) {
    const name = c.args.join(" ") || "(none)";
    if (c.error) {
      await assert.rejects(parseServerArgs(c.args, {}), c.error, name);
      continue;
    }
    const opts = await parseServerArgs(c.args, {});
    assert.deepEqual(opts.commitLog, c.want, name);
  }
});

test("durations", () => {
  const cases: Array<[string, number]> = [["250", 250], ["250ms", 250], ["90s", 90_000], ["15m", 900_000], ["24h", 86_400_000], ["7d", 604_800_000]];
  for (const [text, ms] of cases) assert.equal(parseDurationMs("--x", text), ms, text);
  for (const bad of ["", "1.5h", "-1s", "7w"]) assert.throws(() => parseDurationMs("--x", bad), /--x must be a duration/, bad);
});

test("resolveLogConfig fills defaults and rejects impossible values", () => {
  assert.deepEqual(resolveLogConfig({}), defaultLogConfig);
  assert.equal(resolveLogConfig({ fsync: "never", maxRecordBytes: undefined }).maxRecordBytes, defaultLogConfig.maxRecordBytes);
  for (const bad of [{ maxIndexBytes: 11 }, { maxStoreBytes: -1 }, { initialOffset: 0.5 }, { fsync: "maybe" as never }, { maxRecordBytes: 2 ** 33 }]) {
    assert.throws(() => resolveLogConfig(bad), /log config/, JSON.stringify(bad));
  }
});
