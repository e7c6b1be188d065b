import { test } from "node:test";
import assert from "node:assert/strict";
import type { UnaryRequest, UnaryResponse } from "@connectrpc/connect";
import { bearerTokenInterceptor } from "./bearer-token.ts";

/** The Authorization header a request leaves the interceptor with. */
async function sent(token: Parameters<typeof bearerTokenInterceptor>[0]): Promise<string | null> {
  let seen: string | null = "not called";
  const next = async (req: UnaryRequest) => {
    seen = req.header.get("Authorization");
    return {} as UnaryResponse;
  };
  await bearerTokenInterceptor(token)(next as never)({ header: new Headers() } as UnaryRequest);
  return seen;
}

test("bearerTokenInterceptor: a fixed token, or one read on every call (empty → no header)", async () => {
  const cases: Array<[string, Parameters<typeof bearerTokenInterceptor>[0], string | null]> = [
    ["fixed", "s3cret", "Bearer s3cret"],
    ["function", () => "abc", "Bearer abc"],
    ["function, trimmed", () => "  abc \n", "Bearer abc"],
    ["function, empty", () => "", null],
    ["function, blank", () => "   ", null],
  ];
  for (const [name, token, want] of cases) assert.equal(await sent(token), want, name);
  let current = "one";
  const read = () => current;
  assert.equal(await sent(read), "Bearer one");
  current = "two";
  assert.equal(await sent(read), "Bearer two", "the current value, not the first");
});
