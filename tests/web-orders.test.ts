import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import type { Browser } from "playwright-core";
import { OrderService } from "@switchboard/gen/order/v1/order_pb.js";
import { eventually } from "@switchboard/test-harness/eventually";
import { contentTypes, ensureWebBuilt, launchChromium, openPage, transports } from "@switchboard/test-harness/browser";
import { startServerProcess, type ServerProcess } from "@switchboard/test-harness/server-process";

// Orders page in a real Chromium against a real server, over both browser
// protocols: the search stream fills the table, deep links, the add form
// shows the server's field violations per field, and a valid order is stored.

let server: ServerProcess;
let browser: Browser;

before(async () => {
  const webDir = await ensureWebBuilt();
  server = await startServerProcess({ args: ["--web-dir", webDir, "--services", "order", "--no-request-log"] });
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await server?.cleanup();
});

for (const transport of transports) {
  test(`orders page over ${transport}`, async (t) => {
    const w = await openPage(browser, { baseUrl: server.url, transport });
    t.after(() => w.close());
    const { page } = w;

    await t.test("search streams the matching orders into the table", async () => {
      await page.goto("/");
      await page.waitForURL("**/orders");
      // The empty query streams every order (the seeded ones, and those other tests added).
      await page.getByTestId("search-status").filter({ hasText: /^\d+ orders\.$/ }).waitFor();
      const all = await page.getByTestId("order-row").locator("td:first-child").allTextContents();
      for (const id of ["102", "103", "104", "105", "106"]) assert.ok(all.includes(id), `${id} missing from ${all.join(",")}`);
      await page.getByLabel("Search items").fill("google");
      await page.getByRole("button", { name: "Search", exact: true }).click();
      await page.getByText("2 orders with an item matching “google”.").waitFor();
      assert.deepEqual(await page.getByTestId("order-row").locator("td:first-child").allTextContents(), ["102", "104"]);
      // Nothing is streaming any more, so there is nothing to cancel.
      assert.equal(await page.getByRole("button", { name: "Cancel" }).isDisabled(), true);
      await w.screenshot(`orders-${transport}`);
    });

    await t.test("rows appear while the stream runs, and Cancel stops it", async () => {
      // 120 matching orders (~15 KB) and a slow network (Chromium's own
      // throttling, which delivers the body in bursts), so the stream is
      // still running for seconds while the test looks at it.
      const client = createClient(OrderService, createGrpcTransport({ baseUrl: server.url }));
      const tag = `Widget-${transport}`;
      for (let i = 0; i < 120; i++) {
        await client.addOrder({ order: { id: `${tag}-${i}`, items: [`${tag} number ${i}`], destination: "Testville", priceCents: 100n } });
      }
      const cdp = await w.context.newCDPSession(page);
      await cdp.send("Network.enable");
      await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 0, downloadThroughput: 1500, uploadThroughput: -1 });
      try {
        await page.getByLabel("Search items").fill(tag);
        await page.getByRole("button", { name: "Search", exact: true }).click();
        const progress = page.getByRole("status").filter({ hasText: /Streaming… \d+ so far/ });
        await progress.waitFor();
        await page.getByRole("button", { name: "Cancel" }).click();
        const done = await page.getByRole("status").filter({ hasText: /Search cancelled after \d+ orders?\./ }).innerText();
        const shown = Number(/after (\d+)/.exec(done)![1]);
        assert.ok(shown >= 1 && shown < 120, `cancelled after ${shown} of 120 rows`);
        // Let the (throttled) network deliver more: the next health poll's
        // answer takes seconds to arrive, time in which an uncancelled
        // stream would have added rows.
        await page.waitForResponse((r) => r.url().endsWith("/grpc.health.v1.Health/Check"), { timeout: 30_000 });
        assert.equal(await page.getByTestId("order-row").count(), shown);
      } finally {
        await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
        await cdp.detach();
      }
      await page.getByLabel("Search items").fill("");
      await page.getByRole("button", { name: "Search", exact: true }).click();
      await page.getByTestId("search-status").filter({ hasText: /^\d+ orders\.$/ }).waitFor();
    });

    await t.test("an order opens at a deep-linkable URL", async () => {
      await page.getByRole("link", { name: "102", exact: true }).click();
      await page.waitForURL("**/orders/102");
      await page.getByTestId("order-detail").getByRole("listitem").filter({ hasText: "Google Pixel 3A" }).waitFor();
      await page.goto("/orders/103");
      await page.getByTestId("order-detail").getByRole("listitem").filter({ hasText: "Apple Watch S4" }).waitFor();
      assert.match(await page.getByTestId("order-detail").innerText(), /\$400\.00/);
      await w.screenshot(`order-detail-${transport}`);
      await page.goto("/orders/no-such-order");
      await page.getByText("There is no order with id").waitFor();
      // The Connect protocol answers NOT_FOUND with HTTP 404, which Chromium logs.
      if (transport === "connect") assert.equal(w.allow(/status of 404/), 1);
    });

    await t.test("the add form shows each field violation next to its field", async () => {
      await page.goto("/orders");
      await page.getByLabel("Order ID").fill("bad id!");
      await page.getByLabel("Item 1", { exact: true }).fill("   ");
      await page.getByLabel("Price (USD)").fill("-5");
      await page.getByRole("button", { name: "Add order" }).click();
      await page.locator("#order-id-error").waitFor();
      assert.match(await page.locator("#order-id-error").innerText(), /letters, digits/);
      assert.match(await page.locator("#order-items-0-error").innerText(), /must not be empty/);
      assert.match(await page.locator("#order-destination-error").innerText(), /is required/);
      assert.match(await page.locator("#order-price-error").innerText(), /must not be negative/);
      assert.equal(await page.getByLabel("Order ID").getAttribute("aria-invalid"), "true");
      await w.screenshot(`orders-add-errors-${transport}`);
      if (transport === "connect") assert.equal(w.allow(/status of 400/), 1);
    });

    await t.test("a valid order is added and shows up in the search", async () => {
      const id = `web-${transport}`;
      await page.getByLabel("Order ID").fill(id);
      await page.getByLabel("Item 1", { exact: true }).fill("Mechanical keyboard");
      await page.getByRole("button", { name: "+ Add item" }).click();
      await page.getByLabel("Item 2", { exact: true }).fill("Mouse");
      await page.getByLabel("Destination").fill("Berlin, DE");
      await page.getByLabel("Price (USD)").fill("49.90");
      await page.getByRole("button", { name: "Add order" }).click();
      await page.getByText(`Order ${id} added.`).waitFor();
      await page.getByTestId("order-row").filter({ hasText: id }).waitFor();
      assert.equal(await page.locator("#order-id-error").count(), 0);
      // Stored as typed, seen by an independent gRPC client.
      const client = createClient(OrderService, createGrpcTransport({ baseUrl: server.url }));
      const res = await client.getOrder({ id });
      assert.deepEqual(res.order?.items, ["Mechanical keyboard", "Mouse"]);
      assert.equal(res.order?.priceCents, 4990n);
      assert.equal(res.order?.destination, "Berlin, DE");
    });

    await t.test("an order is edited on its page (unary UpdateOrder)", async () => {
      const id = `web-${transport}`;
      const rpcPaths: string[] = [];
      const onRequest = (req: { url(): string }) => rpcPaths.push(new URL(req.url()).pathname);
      page.on("request", onRequest);
      t.after(() => page.off("request", onRequest));
      await page.getByTestId("order-row").filter({ hasText: id }).getByRole("link").click();
      await page.waitForURL(`**/orders/${id}`);
      await page.getByRole("button", { name: "Edit" }).click();
      const form = page.getByRole("form", { name: `Edit order ${id}` });
      assert.equal(await form.getByLabel("Order ID").inputValue(), id);
      assert.equal(await form.getByLabel("Price (USD)").inputValue(), "49.90");
      // The server's violations show up here too, and nothing is changed.
      await form.getByLabel("Destination").fill("");
      await form.getByRole("button", { name: "Save changes" }).click();
      assert.match(await page.locator("#order-destination-error").innerText(), /is required/);
      // Unary over Connect: the rejection is an HTTP 400, which Chromium logs.
      if (transport === "connect") {
        const rejected = /status of 400 .*\/UpdateOrder\)/;
        await eventually(() => w.problems.some((p) => rejected.test(p)), 10_000, "the logged 400 of UpdateOrder");
        assert.equal(w.allow(rejected), 1);
      }
      await w.screenshot(`order-edit-${transport}`);
      await form.getByLabel("Destination").fill("Hamburg, DE");
      await form.getByLabel("Price (USD)").fill("59");
      await form.getByRole("button", { name: "Save changes" }).click();
      await page.getByRole("status").filter({ hasText: "Saved." }).waitFor();
      await page.getByTestId("order-detail").getByText("Hamburg, DE").waitFor();
      const client = createClient(OrderService, createGrpcTransport({ baseUrl: server.url }));
      const res = await client.getOrder({ id });
      assert.equal(res.order?.destination, "Hamburg, DE");
      assert.equal(res.order?.priceCents, 5900n);
      assert.deepEqual(res.order?.items, ["Mechanical keyboard", "Mouse"]);
      const updates = rpcPaths.filter((p) => p.startsWith("/order.v1.OrderService/Update"));
      assert.deepEqual(updates, ["/order.v1.OrderService/UpdateOrder", "/order.v1.OrderService/UpdateOrder"], "the rejected and the accepted save");
    });

    await t.test(`every call used ${transport}`, () => {
      assert.ok(w.rpcContentTypes.length >= 4, `few RPCs seen: ${w.rpcContentTypes.join(", ")}`);
      for (const type of w.rpcContentTypes) assert.match(type, contentTypes[transport]);
      w.assertNoProblems();
    });
  });
}
