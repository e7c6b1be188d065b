import { test } from "node:test";
import assert from "node:assert/strict";
import { Code } from "@connectrpc/connect";
import { fatalHint, isTransient } from "./transient.ts";

test("the worker retries transient codes only; token errors name the token options", () => {
  for (const c of [Code.Unavailable, Code.DeadlineExceeded, Code.Unknown, Code.Internal, Code.Canceled, Code.Aborted, Code.ResourceExhausted]) {
    assert.equal(isTransient(c), true, Code[c]);
  }
  for (const c of [Code.Unauthenticated, Code.PermissionDenied, Code.InvalidArgument, Code.Unimplemented, Code.FailedPrecondition, Code.NotFound]) {
    assert.equal(isTransient(c), false, Code[c]);
  }
  for (const c of [Code.Unauthenticated, Code.PermissionDenied]) assert.match(fatalHint(c), /--token TOKEN, --token-file FILE or \$SWITCHBOARD_TOKEN/);
});
