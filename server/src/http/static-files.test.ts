import { test } from "node:test";
import assert from "node:assert/strict";
import { acceptsHtml } from "./static-files.ts";

test("acceptsHtml: only an explicit text/html (or XHTML) with q > 0 counts (table)", () => {
  const cases: Array<[string | string[] | undefined, boolean]> = [
    ["text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", true], // Chromium navigation
    ["application/xhtml+xml", true],
    ["TEXT/HTML; charset=utf-8", true],
    [["application/json", "text/html"], true],
    ["*/*", false], // curl
    ["text/plain;version=0.0.4;q=0.9,*/*;q=0.1", false], // Prometheus
    ["text/*", false],
    ["text/html;q=0", false],
    ["application/json", false],
    [undefined, false],
    ["", false],
  ];
  for (const [accept, want] of cases) assert.equal(acceptsHtml(accept), want, String(accept));
});
