import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import type { Browser } from "playwright-core";
import { NodeService } from "@switchboard/gen/node/v1/node_pb.js";
import { ensureWebBuilt, launchChromium, openPage } from "@switchboard/test-harness/browser";
import { startServerProcess, type ServerProcess } from "@switchboard/test-harness/server-process";
import { startWorkerProcess, type WorkerProcess } from "@switchboard/test-harness/worker-process";

// The pages as a new user sees them, against a server without --etcd and a
// real worker: the registry says it is off (no "Live" badge), the workers
// table shows labels and the instance, a task no worker matches says why it
// waits, and every page fits laptop (1280×800) and phone (390×844) screens.
// Screenshots of every page at both sizes go to test-output/screenshots/
// (gitignored), so the next change can be compared with them.

const token = "web-newcomer-token";
let server: ServerProcess;
let worker: WorkerProcess;
let browser: Browser;
let webDir: string;

before(async () => {
  webDir = await ensureWebBuilt();
  server = await startServerProcess({ args: ["--web-dir", webDir, "--no-request-log", "--auth-token", token] });
  worker = startWorkerProcess({ serverUrl: server.url, id: "nc-web-1", allow: ["echo"], labels: { zone: "a", disk: "ssd" }, capacity: 2, token });
  await worker.waitForEvent((e) => e.event === "connected");
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await worker?.cleanup();
  await server?.cleanup();
});

test("cluster page without --etcd: registry off, worker labels and instance, why a task waits", async (t) => {
  const nodes = createClient(NodeService, createGrpcTransport({ baseUrl: server.url }));
  const { taskId } = await nodes.submitTask(
    { command: { program: "echo", args: ["never"] }, labels: { zone: "eu" } },
    { headers: { authorization: `Bearer ${token}` } },
  );
  // Left queued: the screenshots below show why it waits.
  const w = await openPage(browser, { baseUrl: server.url });
  t.after(() => w.close());
  const { page } = w;
  await page.goto("/cluster");

  const instances = page.locator("#instances");
  await instances.getByText("The service registry is off").waitFor();
  await instances.getByText("Registry off").waitFor();
  assert.equal(await instances.getByText("Live", { exact: true }).count(), 0, "no Live badge without --etcd");

  const table = page.getByRole("table", { name: "Workers" });
  const headers = (await table.locator("thead th").allTextContents()).map((h) => h.trim());
  assert.ok(headers.includes("Labels") && headers.includes("Instance"), headers.join(" | "));
  const row = page.getByTestId("worker-row").filter({ hasText: "nc-web-1" });
  await row.getByText("online").waitFor();
  const cells = await row.locator("td").allInnerTexts();
  assert.equal(cells[headers.indexOf("Labels")]!.replace(/\s+/g, " ").trim(), "disk=ssd zone=a");
  assert.equal(cells[headers.indexOf("Instance")], `127.0.0.1:${server.port}`);

  const task = page.locator(`[data-task-id="${taskId}"]`);
  await task.getByText("queued").waitFor();
  assert.equal(
    (await task.getByTestId("task-waiting").innerText()).trim(),
    "Waiting: no connected worker has the labels zone=eu; connected workers: nc-web-1 (disk=ssd,zone=a)",
  );
  w.assertNoProblems();
});

test("every page at 1280×800 and 390×844: nothing wider than the screen, screenshots kept", async (t) => {
  const pages = [
    ["/orders", "orders", "[data-testid=search-status]"],
    ["/orders/102", "order-detail", "[data-testid=order-detail]"],
    ["/log", "log", "#offsets .panel-body > :not(.state-loading)"],
    ["/cluster", "cluster", "#workers .panel-body > :not(.state-loading)"],
  ] as const;
  for (const viewport of [{ width: 1280, height: 800 }, { width: 390, height: 844 }]) {
    const w = await openPage(browser, { baseUrl: server.url, viewport });
    t.after(() => w.close());
    const { page } = w;
    for (const [path, name, loaded] of pages) {
      await page.goto(path);
      await page.locator(loaded).first().waitFor();
      const overflow = await page.evaluate<number>("document.documentElement.scrollWidth - window.innerWidth");
      assert.ok(overflow <= 0, `${path} is ${overflow}px wider than ${viewport.width}px`);
      // Nothing clipped: no element's text runs out of a box that hides overflow (tables scroll on purpose).
      const clipped = await page.evaluate<string[]>(`[...document.querySelectorAll("main *")]
        .filter((el) => {
          const s = getComputedStyle(el);
          // A stacked table hides its header row on a phone on purpose (each cell carries its label).
          if (el.closest(".table-wrap, pre, .tail, .sr-only, table.stack > thead")) return false;
          return (s.overflowX === "hidden" || s.overflowX === "clip") && s.textOverflow !== "ellipsis" && el.scrollWidth > el.clientWidth + 1;
        })
        .map((el) => el.outerHTML.slice(0, 120))`);
      assert.deepEqual(clipped, [], `${path} at ${viewport.width}px clips content`);
      await w.screenshot(`screenshots/${name}-${viewport.width}x${viewport.height}`);
    }
    w.assertNoProblems();
  }
});
