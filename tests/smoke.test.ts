import { test } from "node:test";
import assert from "node:assert/strict";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { OrderService } from "@switchboard/gen/order/v1/order_pb.js";
import { startServerProcess } from "@switchboard/test-harness/server-process";

test("a server process starts on a random port and serves the seeded orders", async (t) => {
  const server = await startServerProcess();
  t.after(() => server.cleanup());
  const client = createClient(OrderService, createGrpcTransport({ baseUrl: server.url }));
  const res = await client.getOrder({ id: "102" });
  assert.deepEqual(res.order?.items, ["Google Pixel 3A", "Mac Book Pro"]);
  assert.equal(res.order?.priceCents, 180000n);
});
