import { createHash, timingSafeEqual } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";

/**
 * Checks `authorization: Bearer <token>` against the server's token in
 * constant time: both sides are hashed to 32 bytes first, so neither the
 * content nor the length of the expected token leaks through timing. No
 * token configured → every call passes. The token is never logged or echoed.
 */
export function bearerCheck(expected: string | undefined): (header: Headers) => void {
  if (expected === undefined || expected === "") return () => {};
  const want = digest(expected);
  return (header) => {
    const value = header.get("authorization") ?? "";
    const match = /^Bearer[ ]+(.+)$/i.exec(value.trim());
    const ok = match !== null && timingSafeEqual(digest(match[1]!), want);
    if (!ok) {
      throw new ConnectError(
        match === null ? "missing bearer token (authorization: Bearer …)" : "invalid bearer token",
        Code.Unauthenticated,
      );
    }
  };
}

function digest(s: string): Buffer {
  return createHash("sha256").update(s, "utf8").digest();
}
