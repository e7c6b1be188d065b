import { test } from "node:test";
import assert from "node:assert/strict";
import { Code, ConnectError } from "@connectrpc/connect";
import { bearerCheck } from "./auth.ts";

test("bearerCheck: only the exact token passes; nothing is required without one", () => {
  const check = bearerCheck("s3cret-token");
  const table: Array<[string | undefined, boolean]> = [
    ["Bearer s3cret-token", true],
    ["bearer s3cret-token", true],
    ["Bearer   s3cret-token", true],
    ["Bearer s3cret-token ", true], // header values are trimmed
    [undefined, false],
    ["", false],
    ["s3cret-token", false],
    ["Basic s3cret-token", false],
    ["Bearer s3cret-toke", false],
    ["Bearer s3cret-token2", false],
    ["Bearer S3CRET-TOKEN", false],
    ["Bearer ", false],
  ];
  for (const [value, ok] of table) {
    const h = new Headers();
    if (value !== undefined) h.set("authorization", value);
    if (ok) {
      assert.doesNotThrow(() => check(h), String(value));
    } else {
      assert.throws(
        () => check(h),
        (e: ConnectError) => e.code === Code.Unauthenticated && !e.message.includes("s3cret"),
        String(value),
      );
    }
  }
  for (const open of [bearerCheck(undefined), bearerCheck("")]) assert.doesNotThrow(() => open(new Headers()));
});
