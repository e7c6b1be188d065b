import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import type { Browser } from "playwright-core";
import { LogService } from "@switchboard/gen/log/v1/log_pb.js";
import { contentTypes, ensureWebBuilt, launchChromium, openPage, transports } from "@switchboard/test-harness/browser";
import { startServerProcess, type ServerProcess } from "@switchboard/test-harness/server-process";

// Log page in a real Chromium, over both browser protocols: OUT_OF_RANGE is
// explained, produce (text and JSON) works, and the live tail receives
// records produced by another client (a Node gRPC client), pauses and
// resumes without losing or repeating a record.

let server: ServerProcess;
let browser: Browser;
let log: Client<typeof LogService>;
const encoder = new TextEncoder();

before(async () => {
  const webDir = await ensureWebBuilt();
  server = await startServerProcess({ args: ["--web-dir", webDir, "--services", "log", "--no-request-log"] });
  browser = await launchChromium();
  log = createClient(LogService, createGrpcTransport({ baseUrl: server.url }));
});
after(async () => {
  await browser?.close();
  await server?.cleanup();
});

for (const transport of transports) {
  test(`log page over ${transport}`, async (t) => {
    const w = await openPage(browser, { baseUrl: server.url, transport });
    t.after(() => w.close());
    const { page } = w;
    const start = (await log.getOffsets({})).nextOffset;
    const rows = page.getByTestId("tail-row");

    await t.test("reading past the end explains the range", async () => {
      await page.goto("/log");
      await page.getByTestId("next-offset").filter({ hasText: String(start) }).waitFor();
      await page.getByLabel("Offset", { exact: true }).fill(String(start + 100n));
      await page.getByRole("button", { name: "Read" }).click();
      const message = await page.getByTestId("read-result").getByRole("alert").innerText();
      assert.match(message, new RegExp(`Offset ${start + 100n} is out of range: the log (is empty|holds offsets \\d+ to \\d+)`));
      if (transport === "connect") assert.equal(w.allow(/status of 400/), 1);
    });

    await t.test("the live tail shows records produced here and by another client", async () => {
      await page.getByLabel("From offset").fill(String(start));
      await page.getByRole("button", { name: "Start tail" }).click();
      await page.getByTestId("tail-status").getByText("Live").waitFor();

      await page.getByLabel("Message").fill(`hello from ${transport}`);
      await page.getByRole("button", { name: "Produce", exact: true }).click();
      await page.getByTestId("produce-result").getByText(`Appended at offset ${start}.`).waitFor();
      await rows.filter({ hasText: `hello from ${transport}` }).waitFor();

      // JSON mode checks the JSON before sending it.
      await page.getByRole("radio", { name: "JSON" }).check();
      await page.getByLabel("JSON value").fill("{oops");
      await page.getByRole("button", { name: "Produce", exact: true }).click();
      assert.match(await page.locator("#produce-value-error").innerText(), /not valid JSON/);
      await page.getByLabel("JSON value").fill('{ "event": "signup", "transport": "' + transport + '" }');
      await page.getByRole("button", { name: "Produce", exact: true }).click();
      await rows.filter({ hasText: `{"event":"signup","transport":"${transport}"}` }).waitFor();

      // Another client appends; the open stream delivers it.
      const res = await log.produce({ record: { value: encoder.encode(`from node ${transport}`) } });
      assert.equal(res.offset, start + 2n);
      await rows.filter({ hasText: `from node ${transport}` }).waitFor();
      assert.deepEqual(await offsetsShown(), [start, start + 1n, start + 2n]);
      await page.getByTestId("highest-offset").filter({ hasText: String(start + 2n) }).waitFor();
      await w.screenshot(`log-${transport}`);
    });

    await t.test("pause and resume lose and repeat nothing", async () => {
      await page.getByRole("button", { name: "Pause" }).click();
      await page.getByTestId("tail-status").getByText("Paused").waitFor();
      await log.produce({ record: { value: encoder.encode(`while paused ${transport}`) } });
      await page.getByRole("button", { name: "Resume" }).click();
      await rows.filter({ hasText: `while paused ${transport}` }).waitFor();
      await log.produce({ record: { value: encoder.encode(`after resume ${transport}`) } });
      await rows.filter({ hasText: `after resume ${transport}` }).waitFor();
      assert.deepEqual(await offsetsShown(), [start, start + 1n, start + 2n, start + 3n, start + 4n]);
    });

    await t.test("a hidden tab closes the tail's stream and resumes it when shown", async () => {
      const isTail = (r: { url(): string }) => r.url().endsWith("/log.v1.LogService/ConsumeStream");
      const closed = page.waitForEvent("requestfailed", isTail);
      await setHidden(true);
      assert.match((await closed).failure()?.errorText ?? "", /ABORTED/);
      await log.produce({ record: { value: encoder.encode(`while hidden ${transport}`) } });
      const reopened = page.waitForRequest(isTail);
      await setHidden(false);
      await reopened;
      await rows.filter({ hasText: `while hidden ${transport}` }).waitFor();
      await page.getByTestId("tail-status").getByText("Live").waitFor();
      assert.deepEqual(await offsetsShown(), [start, start + 1n, start + 2n, start + 3n, start + 4n, start + 5n]);
    });

    await t.test("one offset is read back", async () => {
      await page.getByLabel("Offset", { exact: true }).fill(String(start + 2n));
      await page.getByRole("button", { name: "Read" }).click();
      await page.getByTestId("read-result").getByText(`from node ${transport}`).waitFor();
    });

    await t.test(`every call used ${transport}`, () => {
      assert.ok(w.rpcContentTypes.length >= 5);
      for (const type of w.rpcContentTypes) assert.match(type, contentTypes[transport]);
      w.assertNoProblems();
    });

    /** Simulates the tab being hidden or shown (what the browser does when you switch tabs). */
    async function setHidden(hidden: boolean): Promise<void> {
      await page.evaluate(
        hidden
          ? `Object.defineProperty(document, "visibilityState", { configurable: true, get: () => "hidden" });
             document.dispatchEvent(new Event("visibilitychange"));`
          : `delete document.visibilityState; document.dispatchEvent(new Event("visibilitychange"));`,
      );
    }

    async function offsetsShown(): Promise<bigint[]> {
      return (await rows.locator("td:first-child").allTextContents()).map((s) => BigInt(s));
    }
  });
}
