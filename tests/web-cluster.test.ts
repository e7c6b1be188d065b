import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import type { Browser } from "playwright-core";
import { contentTypes, ensureWebBuilt, launchChromium, openPage, transports } from "@switchboard/test-harness/browser";
import { startEtcd, type EtcdProcess } from "@switchboard/test-harness/etcd";
import { startServerProcess, type ServerProcess } from "@switchboard/test-harness/server-process";
import { startWorkerProcess, type WorkerProcess } from "@switchboard/test-harness/worker-process";

// Cluster page in a real Chromium, over both browser protocols, against a
// server registered in a real etcd and a real `switchboard worker` process:
// health, live registered instances, the worker, the token check, and a task
// submitted from the page whose result (stdout) shows up live.

const token = "web-test-token";
const prefix = `web-${process.pid}/services`;
let etcd: EtcdProcess;
let server: ServerProcess;
let worker: WorkerProcess;
let browser: Browser;
let webDir: string;

before(async () => {
  webDir = await ensureWebBuilt();
  etcd = await startEtcd();
  server = await startServerProcess({
    args: ["--web-dir", webDir, "--no-request-log", "--auth-token", token, "--etcd", etcd.endpoint, "--registry-prefix", prefix],
  });
  worker = startWorkerProcess({ serverUrl: server.url, id: "web-worker-1", allow: ["echo", "sleep"], capacity: 2, token });
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await worker?.cleanup();
  await server?.cleanup();
  await etcd?.cleanup();
});

for (const transport of transports) {
  test(`cluster page over ${transport}`, async (t) => {
    const w = await openPage(browser, { baseUrl: server.url, transport });
    t.after(() => w.close());
    const { page } = w;
    let lastId = "";

    await t.test("health, registered instances and the worker are shown", async () => {
      await page.goto("/cluster");
      const health = page.getByRole("list", { name: "Service health" });
      await health.getByRole("listitem").filter({ hasText: "Orders" }).getByText("serving").waitFor();
      await health.getByRole("listitem").filter({ hasText: "Tasks & workers" }).getByText("serving").waitFor();
      const instances = page.getByTestId("instances");
      await instances.getByText("node.v1.NodeService").waitFor();
      await instances.getByText(`127.0.0.1:${server.port}`).first().waitFor();
      const row = page.getByTestId("worker-row").filter({ hasText: "web-worker-1" });
      await row.getByText("online").waitFor();
      assert.match(await row.innerText(), /0 \/ 2/);
    });

    await t.test("the backends panel shows each instance's storage and its health", async () => {
      const table = page.getByTestId("backends");
      for (const [role, kind] of [["orders", "sqlite"], ["tasks", "sqlite"], ["log", "segments"]]) {
        const row = table.getByRole("row").filter({ hasText: `127.0.0.1:${server.port}` }).filter({ hasText: role });
        await row.getByText("healthy").waitFor();
        assert.match(await row.innerText(), new RegExp(kind!));
      }
    });

    if (transport === "connect") {
      await t.test("instances are live: a new server appears and goes away", async () => {
        const other = await startServerProcess({
          args: ["--services", "order", "--no-request-log", "--etcd", etcd.endpoint, "--registry-prefix", prefix, "--deregister-grace-ms", "0"],
        });
        t.after(() => other.cleanup());
        const address = page.getByTestId("instances").getByText(`127.0.0.1:${other.port}`);
        await address.waitFor();
        await other.stop("SIGTERM");
        await address.waitFor({ state: "detached" });
      });
    }

    await t.test("submitting without the token is refused at the token field", async () => {
      await page.getByLabel("Program").fill("echo");
      await page.getByLabel("Arguments (one per line)").fill(`hello from ${transport}\nsecond argument`);
      await page.getByRole("button", { name: "Submit task" }).click();
      assert.match(await page.locator("#task-token-error").innerText(), /requires a token/);
      if (transport === "connect") assert.equal(w.allow(/status of 401/), 1);
    });

    await t.test("a submitted task runs on the worker and its output is shown", async () => {
      await page.getByLabel("Token (if required)").fill(token);
      await page.getByRole("button", { name: "Submit task" }).click();
      const queued = await page.getByTestId("submit-result").filter({ hasText: /^Task \S+ queued\.$/ }).innerText();
      const id = /^Task (\S+) queued\.$/.exec(queued)![1]!;
      lastId = id;
      const task = page.locator(`[data-testid=task][data-task-id="${id}"]`);
      await task.and(page.locator("[data-state=succeeded]")).waitFor({ timeout: 30_000 });
      assert.equal((await task.getByTestId("task-stdout").innerText()).trim(), `hello from ${transport} second argument`);
      assert.match(await task.innerText(), /web-worker-1/);
      assert.match(await task.innerText(), /exit 0/);
      await w.screenshot(`cluster-${transport}`);
    });

    await t.test("a running task is cancelled from the page", async () => {
      await page.getByLabel("Program").fill("sleep");
      await page.getByLabel("Arguments (one per line)").fill("60");
      await page.getByRole("button", { name: "Submit task" }).click();
      const queued = await page.getByTestId("submit-result").filter({ hasText: /^Task \S+ queued\.$/ }).filter({ hasNotText: lastId }).innerText();
      const id = /^Task (\S+) queued\.$/.exec(queued)![1]!;
      const task = page.locator(`[data-testid=task][data-task-id="${id}"]`);
      await task.and(page.locator("[data-state=running]")).waitFor({ timeout: 30_000 });
      await task.getByRole("button", { name: `Cancel task ${id}` }).click();
      await task.and(page.locator("[data-state=cancelled]")).waitFor();
      assert.match(await task.innerText(), /cancelled from the web UI/);
      // The worker was told and stopped the process.
      await worker.waitForEvent((e) => e.event === "task-finished" && e.taskId === id);
    });

    await t.test(`every call used ${transport}`, () => {
      assert.ok(w.rpcContentTypes.length >= 4);
      for (const type of w.rpcContentTypes) assert.match(type, contentTypes[transport]);
      w.assertNoProblems();
    });
  });
}
