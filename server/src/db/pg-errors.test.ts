import { test } from "node:test";
import assert from "node:assert/strict";
import { Code, ConnectError } from "@connectrpc/connect";
import { isConnectionError, isUnavailable, toRpcError } from "./pg-errors.ts";

const err = (message: string, code?: string) => Object.assign(new Error(message), code ? { code } : {});

const table: Array<{ name: string; e: unknown; unavailable: boolean; connection: boolean }> = [
  { name: "refused", e: err("connect ECONNREFUSED 127.0.0.1:5432", "ECONNREFUSED"), unavailable: true, connection: true },
  { name: "admin shutdown", e: err("terminating connection due to administrator command", "57P01"), unavailable: true, connection: true },
  { name: "starting up", e: err("the database system is starting up", "57P03"), unavailable: true, connection: true },
  { name: "connection terminated", e: err("Connection terminated unexpectedly"), unavailable: true, connection: true },
  { name: "connect timeout", e: err("timeout exceeded when trying to connect"), unavailable: true, connection: true },
  { name: "statement timeout", e: err("canceling statement due to statement timeout", "57014"), unavailable: true, connection: false },
  { name: "unique violation", e: err("duplicate key value", "23505"), unavailable: false, connection: false },
  { name: "syntax", e: err("syntax error", "42601"), unavailable: false, connection: false },
];
for (const c of table) {
  test(`pg error: ${c.name}`, () => {
    assert.equal(isUnavailable(c.e), c.unavailable);
    assert.equal(isConnectionError(c.e), c.connection);
    const mapped = toRpcError(c.e);
    if (c.unavailable) assert.equal((mapped as ConnectError).code, Code.Unavailable);
    else assert.equal(mapped, c.e, "other errors pass through unchanged");
  });
}

test("a ConnectError passes through; credentials in a message are redacted", () => {
  const ce = new ConnectError("x", Code.FailedPrecondition);
  assert.equal(toRpcError(ce), ce);
  const mapped = toRpcError(err("could not connect to postgres://u:pw123@h/db", "ECONNREFUSED")) as ConnectError;
  assert.doesNotMatch(mapped.message, /pw123/);
});
