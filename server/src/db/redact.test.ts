import { test } from "node:test";
import assert from "node:assert/strict";
import { redactSecrets, redactUrl } from "./redact.ts";

const cases: Array<[string, string]> = [
  ["postgres://sb:s3cret@db.example:5432/switchboard", "postgres://sb:***@db.example:5432/switchboard"],
  ["postgres://sb@127.0.0.1:5432/switchboard", "postgres://sb@127.0.0.1:5432/switchboard"],
  ["postgres://127.0.0.1/db?password=hunter2&sslmode=require", "postgres://127.0.0.1/db?password=***&sslmode=require"],
  ["postgres://u:p%40ss@h/db", "postgres://u:***@h/db"],
  ["not a url u:pw@x", "not a url u:pw@x"],
  ["garbage ://u:pw@host", "garbage ://u:***@host"],
];
for (const [input, want] of cases) {
  test(`redactUrl(${JSON.stringify(input)})`, () => {
    const got = redactUrl(input);
    assert.equal(got, want);
    assert.ok(!/s3cret|hunter2|p%40ss/.test(got));
  });
}

test("redactSecrets hides credentials inside an error message", () => {
  assert.equal(
    redactSecrets('connect failed for "postgres://a:b@h:1/d": refused'),
    'connect failed for "postgres://a:***@h:1/d": refused',
  );
});
