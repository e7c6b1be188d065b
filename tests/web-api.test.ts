// The web UI's API reference page in a real Chromium: it lists every REST
// operation of the server's /openapi.json (bundled page, no CDN: every
// request the page makes goes to the server itself).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import type { Browser } from "playwright-core";
import { ensureWebBuilt, launchChromium, openPage } from "@switchboard/test-harness/browser";
import { startServerProcess } from "@switchboard/test-harness/server-process";

let browser: Browser;
let webDir: string;
before(async () => {
  webDir = await ensureWebBuilt();
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
});

test("/api lists the REST operations from /openapi.json with curl lines", async (t) => {
  const server = await startServerProcess({ args: ["--web-dir", webDir, "--no-request-log"] });
  t.after(() => server.cleanup());
  const w = await openPage(browser, { baseUrl: server.url });
  t.after(() => w.close());
  const { page } = w;
  const origins = new Set<string>();
  page.on("request", (req) => origins.add(new URL(req.url()).origin));

  await page.goto("/orders");
  await page.getByRole("link", { name: "API" }).click();
  await page.getByRole("heading", { name: "REST API" }).waitFor();
  const doc = (await (await fetch(`${server.url}/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
  const expected = Object.values(doc.paths).reduce((n, ops) => n + Object.keys(ops).length, 0);
  const ops = page.getByTestId("api-operation");
  await ops.nth(expected - 1).waitFor();
  assert.equal(await ops.count(), expected);

  const submit = ops.filter({ hasText: "NodeService.SubmitTask" });
  assert.match(await submit.innerText(), /POST\s+\/v1\/tasks/);
  const curlLine = await submit.locator("pre").innerText();
  assert.match(curlLine, new RegExp(`^curl -X POST ${server.url}/v1/tasks -d '\\{"command":`));
  assert.match(curlLine, /"timeout":"1\.5s"/, "a valid Duration in the example");
  const list = ops.filter({ hasText: "NodeService.ListTasks" });
  assert.match(await list.getByRole("table").innerText(), /states\s+query\s+TASK_STATE_UNSPECIFIED \| TASK_STATE_QUEUED/);
  assert.match(await ops.filter({ hasText: "LogService.ConsumeStream" }).innerText(), /NDJSON/);

  assert.deepEqual([...origins], [server.url], "everything is served by the server itself");
  await w.screenshot("api");
  w.assertNoProblems();
});

test("/api fits a phone (no sideways scrolling of the page)", async (t) => {
  const server = await startServerProcess({ args: ["--web-dir", webDir, "--no-request-log"] });
  t.after(() => server.cleanup());
  const w = await openPage(browser, { baseUrl: server.url, viewport: { width: 390, height: 844 } });
  t.after(() => w.close());
  await w.page.goto("/api");
  await w.page.getByTestId("api-operation").first().waitFor();
  const overflow = await w.page.evaluate<number>("document.documentElement.scrollWidth - window.innerWidth");
  assert.ok(overflow <= 0, `page is ${overflow}px wider than the phone`);
  await w.screenshot("phone-api");
  w.assertNoProblems();
});
