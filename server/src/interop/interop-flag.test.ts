import { test } from "node:test";
import assert from "node:assert/strict";
import { defaultServerOptions, parseServerArgs, usage } from "../config.ts";

test("--interop: off by default, on with the flag, listed in --help", async () => {
  assert.equal(defaultServerOptions.interop, false);
  assert.equal((await parseServerArgs([], {})).interop, undefined);
  assert.equal((await parseServerArgs(["--interop"], {})).interop, true);
  assert.equal((await parseServerArgs(["--no-interop"], {})).interop, false);
  assert.match(usage, /--interop\s+also serve grpc\.testing\.TestService/);
});
