import { test } from "node:test";
import assert from "node:assert/strict";
import { parseServerArgs } from "../config.ts";

test("--postgres / DATABASE_URL, --pg-pool-size, --pg-statement-timeout", async () => {
  assert.deepEqual(
    await parseServerArgs(["--postgres", "postgres://u@h:5432/db", "--pg-pool-size", "4", "--pg-statement-timeout", "250"], {}),
    { postgres: "postgres://u@h:5432/db", pgPoolSize: 4, pgStatementTimeoutMs: 250 },
  );
  assert.deepEqual(await parseServerArgs([], { DATABASE_URL: "postgresql://u:p@h/db" }), { postgres: "postgresql://u:p@h/db" });
  assert.deepEqual(
    await parseServerArgs(["--postgres", "postgres://flag@h/db"], { DATABASE_URL: "postgres://env@h/db" }),
    { postgres: "postgres://flag@h/db" },
    "the flag wins over the environment",
  );
  assert.deepEqual(await parseServerArgs([], { DATABASE_URL: "" }), {}, "empty = embedded");
});

const bad: Array<[string[], RegExp]> = [
  [["--postgres", "mysql://h/db"], /--postgres must be a URL/],
  [["--pg-pool-size", "1"], /at least 2/],
  [["--pg-pool-size", "x"], /non-negative integer/],
  [["--pg-statement-timeout", "0"], /must be positive/],
];
for (const [args, want] of bad) {
  test(`rejects ${args.join(" ")}`, async () => {
    await assert.rejects(parseServerArgs(args, {}), want);
  });
}

test("a password in a bad --postgres value is not echoed", async () => {
  await assert.rejects(parseServerArgs(["--postgres", "mysql://u:hunter2@h/db"], {}), (err: Error) => !err.message.includes("hunter2"));
});
