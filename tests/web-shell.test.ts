import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import path from "node:path";
import { createInterface } from "node:readline";
import { stripVTControlCharacters } from "node:util";
import type { Browser } from "playwright-core";
import { freePort } from "@switchboard/test-harness/etcd";
import { contentTypes, ensureWebBuilt, launchChromium, openPage } from "@switchboard/test-harness/browser";
import { repoRoot, startServerProcess, type ServerProcess } from "@switchboard/test-harness/server-process";

// The app shell in a real Chromium: the protocol switch is remembered and
// used, the UI is keyboard-usable and fits a phone, and a server that goes
// away shows a banner that clears by itself when the server is back.

let browser: Browser;
let webDir: string;

before(async () => {
  webDir = await ensureWebBuilt();
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
});

test("the protocol switch is remembered and every call uses it", async (t) => {
  const server = await startServerProcess({ args: ["--web-dir", webDir, "--no-request-log"] });
  t.after(() => server.cleanup());
  const w = await openPage(browser, { baseUrl: server.url });
  t.after(() => w.close());
  const { page } = w;
  await page.goto("/orders");
  const connect = page.getByRole("radio", { name: "Connect" });
  const grpcWeb = page.getByRole("radio", { name: "gRPC-Web" });
  assert.equal(await connect.isChecked(), true, "Connect is the default");
  await page.getByTestId("search-status").waitFor();
  assert.ok(w.rpcContentTypes.every((c) => contentTypes.connect.test(c)));

  // Keyboard: focus the checked radio and move with the arrow key.
  await connect.focus();
  await page.keyboard.press("ArrowRight");
  assert.equal(await grpcWeb.isChecked(), true);
  // Takes effect at once: the next call goes over gRPC-Web.
  w.rpcContentTypes.length = 0;
  await page.getByRole("button", { name: "Search", exact: true }).click();
  await page.getByTestId("search-status").waitFor();
  assert.ok(w.rpcContentTypes.length > 0);
  for (const c of w.rpcContentTypes) assert.match(c, contentTypes["grpc-web"]);
  w.rpcContentTypes.length = 0;
  await page.reload();
  assert.equal(await page.getByRole("radio", { name: "gRPC-Web" }).isChecked(), true, "remembered after reload");
  await page.getByTestId("search-status").waitFor();
  assert.ok(w.rpcContentTypes.length > 0);
  for (const c of w.rpcContentTypes) assert.match(c, contentTypes["grpc-web"]);

  // Navigation is keyboard-usable: links are real links with the current page marked.
  await page.getByRole("link", { name: "Log" }).focus();
  await page.keyboard.press("Enter");
  await page.waitForURL("**/log");
  assert.equal(await page.getByRole("link", { name: "Log" }).getAttribute("aria-current"), "page");
  w.assertNoProblems();
});

test("a server that goes down shows a banner that clears when it is back", async (t) => {
  const first = await startServerProcess({ args: ["--web-dir", webDir, "--no-request-log", "--services", "order"] });
  let second: ServerProcess | undefined;
  t.after(async () => {
    await first.cleanup();
    await second?.cleanup();
  });
  const w = await openPage(browser, { baseUrl: first.url, transport: "connect" });
  t.after(() => w.close());
  const { page } = w;
  await page.goto("/orders/102");
  await page.getByTestId("order-detail").waitFor();
  assert.equal(await page.getByTestId("server-down").count(), 0);

  await first.stop("SIGTERM");
  // First "not serving" while it drains, then unreachable once it is gone.
  await page.getByTestId("server-down").filter({ hasText: "Server unreachable" }).waitFor();
  await w.screenshot("server-down");

  second = await startServerProcess({
    port: first.port,
    dataDir: first.dataDir,
    args: ["--web-dir", webDir, "--no-request-log", "--services", "order"],
  });
  await page.getByTestId("server-down").waitFor({ state: "detached", timeout: 30_000 });
  // The page works again without a reload.
  await page.getByRole("link", { name: "← All orders" }).click();
  await page.getByTestId("search-status").waitFor();
  // While the server was down, Chromium logged the refused connections.
  w.allow(/ERR_CONNECTION_REFUSED|ERR_EMPTY_RESPONSE|ERR_CONNECTION_RESET/);
  w.assertNoProblems();
});

test("a server that hosts only orders says so on the log and cluster pages", async (t) => {
  const server = await startServerProcess({ args: ["--web-dir", webDir, "--no-request-log", "--services", "order"] });
  t.after(() => server.cleanup());
  // gRPC-Web answers errors with HTTP 200, so Chromium logs nothing for them.
  const w = await openPage(browser, { baseUrl: server.url, transport: "grpc-web" });
  t.after(() => w.close());
  const { page } = w;
  await page.goto("/log");
  await page.locator("#offsets").getByText("This server does not provide this service (unimplemented).").waitFor();
  await page.goto("/cluster");
  await page.locator("#workers").getByText("This server does not provide this service").waitFor();
  await page.locator("#tasks").getByText("This server does not provide this service").waitFor();
  const health = page.getByTestId("service-health");
  await health.filter({ hasText: "Orders" }).getByText("serving").waitFor();
  await health.filter({ hasText: "Commit log" }).getByText("not hosted").waitFor();
  await health.filter({ hasText: "Tasks & workers" }).getByText("not hosted").waitFor();
  await page.locator("#instances").getByText("The service registry is off").waitFor();
  await w.screenshot("cluster-orders-only");
  w.assertNoProblems();
});

test("every page fits a phone screen", async (t) => {
  const server = await startServerProcess({ args: ["--web-dir", webDir, "--no-request-log"] });
  t.after(() => server.cleanup());
  const w = await openPage(browser, { baseUrl: server.url, viewport: { width: 390, height: 844 } });
  t.after(() => w.close());
  const { page } = w;
  const pages = [
    ["/orders", "orders", "[data-testid=search-status]"],
    ["/orders/102", "order-detail", "[data-testid=order-detail]"],
    ["/log", "log", "#offsets .panel-body > :not(.state-loading)"],
    ["/cluster", "cluster", "#workers .panel-body > :not(.state-loading)"],
  ] as const;
  for (const [path, name, loaded] of pages) {
    await page.goto(path);
    await page.locator(loaded).first().waitFor();
    const overflow = await page.evaluate<number>("document.documentElement.scrollWidth - window.innerWidth");
    assert.ok(overflow <= 0, `${path} is ${overflow}px wider than the phone screen`);
    // Every control has an accessible name (a <label>, aria-label or button text).
    const unnamed = await page.evaluate<string[]>(`[...document.querySelectorAll("input, textarea, select, button")]
      .filter((el) => {
        const labels = el.labels ? [...el.labels].map((l) => l.textContent).join("") : "";
        const name = labels || el.getAttribute("aria-label") || (el.tagName === "BUTTON" ? el.textContent : "");
        return !name || !name.trim();
      })
      .map((el) => el.outerHTML)`);
    assert.deepEqual(unnamed, [], `${path} has unlabelled controls`);
    await w.screenshot(`phone-${name}`);
  }
  w.assertNoProblems();
});

test("npm run dev: Vite's dev server serves the app, which calls the server through CORS", async (t) => {
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const server = await startServerProcess({ args: ["--no-request-log", "--cors-origin", origin] });
  t.after(() => server.cleanup());
  // What `npm run dev` runs (vite in web/), on a free port, pointed at the test server.
  const vite = spawn(path.join(repoRoot, "node_modules", ".bin", "vite"), ["--port", String(port), "--host", "127.0.0.1"], {
    cwd: path.join(repoRoot, "web"),
    // NO_COLOR: with CI set, Vite colours its output (picocolors), splitting the URL.
    env: { ...process.env, VITE_SERVER_URL: server.url, NO_COLOR: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = new Promise((resolve) => vite.once("exit", resolve));
  t.after(async () => {
    if (vite.exitCode === null && vite.signalCode === null) vite.kill("SIGTERM");
    await exited;
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("vite dev server did not start")), 30_000);
    createInterface({ input: vite.stdout! }).on("line", (line) => {
      if (stripVTControlCharacters(line).includes(origin)) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  const w = await openPage(browser, { baseUrl: origin, transport: "connect" });
  t.after(() => w.close());
  await w.page.goto("/orders");
  await w.page.getByTestId("order-row").first().waitFor({ timeout: 60_000 });
  await w.page.goto("/cluster");
  await w.page.getByTestId("service-health").filter({ hasText: "Orders" }).getByText("serving").waitFor();
  // React's development build is strict about warnings; none may appear.
  w.assertNoProblems();
});
