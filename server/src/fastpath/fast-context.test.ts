import { test } from "node:test";
import assert from "node:assert/strict";
import type { IncomingHttpHeaders } from "node:http";
import { toHeaders } from "./fast-context.ts";

/** Node's header object → what a plain fetch Headers built from it says. */
function reference(raw: IncomingHttpHeaders): Headers {
  const h = new Headers();
  for (const [k, v] of Object.entries(raw)) {
    if (k.startsWith(":") || v === undefined) continue;
    for (const x of Array.isArray(v) ? v : [v]) h.append(k, x);
  }
  return h;
}

const cases: Array<{ name: string; raw: IncomingHttpHeaders; ops: (h: Headers) => unknown }> = [
  { name: "get, any case", raw: { "content-type": "application/grpc", ":path": "/x" }, ops: (h) => [h.get("Content-Type"), h.get("content-type")] },
  { name: "get of a missing header", raw: { te: "trailers" }, ops: (h) => h.get("grpc-timeout") },
  { name: "repeated header joined", raw: { "x-a": ["1", "2"] }, ops: (h) => h.get("x-a") },
  { name: "has", raw: { te: "trailers" }, ops: (h) => [h.has("TE"), h.has("origin")] },
  { name: "iteration skips pseudo-headers, sorted", raw: { ":method": "POST", b: "2", a: "1" }, ops: (h) => [...h] },
  { name: "set then read", raw: { a: "1" }, ops: (h) => (h.set("a", "x"), h.append("b", "y"), [...h.entries()]) },
  { name: "delete then has", raw: { a: "1", b: "2" }, ops: (h) => (h.delete("a"), [h.has("a"), [...h.keys()]]) },
  { name: "forEach", raw: { a: "1", b: "2" }, ops: (h) => { const out: string[] = []; h.forEach((v, k) => out.push(`${k}=${v}`)); return out; } },
  { name: "copy into new Headers", raw: { a: "1", "x-b": ["2", "3"] }, ops: (h) => [...new Headers(h)] },
  { name: "getSetCookie", raw: { "set-cookie": ["a=1", "b=2"] }, ops: (h) => h.getSetCookie() },
];

for (const c of cases) {
  test(`request headers behave like Headers: ${c.name}`, () => {
    const lazy = toHeaders(c.raw);
    assert.ok(lazy instanceof Headers);
    assert.deepEqual(c.ops(lazy), c.ops(reference(c.raw)));
  });
}
