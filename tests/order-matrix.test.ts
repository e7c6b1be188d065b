// Every OrderService RPC over every protocol × encoding × HTTP version the
// server speaks (tests/harness/clients.ts), against one real server process.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { compressionGzip, createConnectTransport, createGrpcTransport, createNodeHttpClient } from "@connectrpc/connect-node";
import {
  OrderSchema,
  OrderService,
  ProcessOrdersRequestSchema,
  UpdateOrdersRequestSchema,
  type Order,
  type ProcessOrdersRequest,
  type UpdateOrdersRequest,
} from "@switchboard/gen/order/v1/order_pb.js";
import { createTransport as createConnectProtocolTransport } from "@connectrpc/connect/protocol-connect";
import { fieldViolations } from "@switchboard/server/errors";
import { transportMatrix } from "@switchboard/test-harness/clients";
import { pushable } from "@switchboard/test-harness/pushable";
import { startServerProcess, type ServerProcess } from "@switchboard/test-harness/server-process";

let server: ServerProcess;
before(async () => {
  server = await startServerProcess();
});
after(() => server?.cleanup());

/** Rejects with the ConnectError of a call. */
async function callError(p: Promise<unknown>): Promise<ConnectError> {
  try {
    await p;
  } catch (err) {
    return ConnectError.from(err);
  }
  assert.fail("expected the call to fail");
}

/** An async iterable of the given requests (client streams need one). */
async function* from<T>(items: T[]): AsyncIterable<T> {
  yield* items;
}

const ids = (orders: readonly Order[]) => orders.map((o) => o.id);

for (const [row, tc] of transportMatrix.entries()) {
  describe(tc.name, () => {
    let client: Client<typeof OrderService>;
    // Ids unique to this row, so rows do not see each other's orders.
    const mine = (n: number) => `m${row}-${n}`;
    const item = `Gadget${row}x`;
    before(() => {
      client = createClient(OrderService, tc.make(server.url));
    });

    test("GetOrder returns a seeded order", async () => {
      const { order } = await client.getOrder({ id: "104" });
      assert.deepEqual(order?.items, ["Google Home Mini", "Google Nest Hub"]);
      assert.equal(order?.destination, "Mountain View, CA");
      assert.equal(order?.priceCents, 40000n);
    });

    test("GetOrder of an unknown id is NOT_FOUND naming it", async () => {
      const err = await callError(client.getOrder({ id: "nope-404" }));
      assert.equal(err.code, Code.NotFound);
      assert.match(err.rawMessage, /"nope-404"/);
    });

    test("AddOrder stores an order that GetOrder then returns", async () => {
      const order = create(OrderSchema, {
        id: mine(1), items: [item, "Cable"], description: "d", priceCents: 1234n, destination: "Boston, MA",
      });
      assert.deepEqual(await client.addOrder({ order }).then((r) => r.id), mine(1));
      const got = await client.getOrder({ id: mine(1) });
      assert.deepEqual(got.order, order);
    });

    test("AddOrder: invalid → INVALID_ARGUMENT with BadRequest violations; duplicate → ALREADY_EXISTS", async () => {
      const bad = await callError(
        client.addOrder({ order: { id: "has space", items: [], destination: "", priceCents: -1n } }),
      );
      assert.equal(bad.code, Code.InvalidArgument);
      assert.deepEqual(
        fieldViolations(bad).map((v) => [v.field, v.reason]),
        [
          ["order.id", "INVALID_FORMAT"],
          ["order.items", "REQUIRED"],
          ["order.destination", "REQUIRED"],
          ["order.price_cents", "OUT_OF_RANGE"],
        ],
      );
      const dup = await callError(client.addOrder({ order: { id: "102", items: ["x"], destination: "y" } }));
      assert.equal(dup.code, Code.AlreadyExists);
      assert.match(dup.rawMessage, /"102"/);
    });

    test("SearchOrders streams the matches in id order (case-insensitive)", async () => {
      const found: Order[] = [];
      for await (const res of client.searchOrders({ query: "GOOGLE" })) found.push(res.order!);
      assert.deepEqual(ids(found), ["102", "104"]);
      const mineFound: string[] = [];
      for await (const res of client.searchOrders({ query: item.toLowerCase() })) mineFound.push(res.order!.id);
      assert.deepEqual(mineFound, [mine(1)]);
    });

    test("UpdateOrder replaces one order and returns it; GetOrder then sees it", async () => {
      await client.addOrder({ order: { id: mine(5), items: ["Old"], description: "old", destination: "Old Town", priceCents: 1n } });
      const next = create(OrderSchema, { id: mine(5), items: ["New", item], description: "", destination: "Reno, NV", priceCents: 250n });
      const res = await client.updateOrder({ order: next });
      assert.deepEqual(res.order, next);
      assert.deepEqual((await client.getOrder({ id: mine(5) })).order, next, "every field replaced, the description cleared");
    });

    test("UpdateOrder: unknown id → NOT_FOUND naming it; invalid → INVALID_ARGUMENT with AddOrder's violations; nothing changes", async () => {
      const missing = await callError(client.updateOrder({ order: { id: `ghost-${row}`, items: ["x"], destination: "y" } }));
      assert.equal(missing.code, Code.NotFound);
      assert.match(missing.rawMessage, new RegExp(`"ghost-${row}"`));
      await assert.rejects(client.getOrder({ id: `ghost-${row}` }), (e: ConnectError) => e.code === Code.NotFound, "not created");
      await client.addOrder({ order: { id: mine(6), items: ["Keep"], destination: "Here", priceCents: 7n } });
      const bad = await callError(client.updateOrder({ order: { id: mine(6), items: [], destination: "", priceCents: -1n } }));
      assert.equal(bad.code, Code.InvalidArgument);
      assert.deepEqual(
        fieldViolations(bad).map((v) => [v.field, v.reason]),
        [
          ["order.items", "REQUIRED"],
          ["order.destination", "REQUIRED"],
          ["order.price_cents", "OUT_OF_RANGE"],
        ],
      );
      const none = await callError(client.updateOrder({}));
      assert.equal(none.code, Code.InvalidArgument);
      assert.deepEqual(fieldViolations(none).map((v) => [v.field, v.reason]), [["order", "REQUIRED"]]);
      assert.deepEqual((await client.getOrder({ id: mine(6) })).order?.items, ["Keep"]);
    });

    // Client streaming works over HTTP/1.1 too (the request body is streamed,
    // the response comes after it), so every row runs it.
    test("UpdateOrders replaces the streamed orders and returns their ids", async () => {
      for (const n of [2, 3]) {
        await client.addOrder({ order: { id: mine(n), items: ["Old"], destination: "Old Town", priceCents: 1n } });
      }
      async function* updates(): AsyncIterable<UpdateOrdersRequest> {
        yield create(UpdateOrdersRequestSchema, { order: { id: mine(2), items: ["New A"], destination: "Reno, NV", priceCents: 200n } });
        yield create(UpdateOrdersRequestSchema, { order: { id: mine(3), items: ["New B"], destination: "Reno, NV", priceCents: 300n } });
      }
      const res = await client.updateOrders(updates());
      assert.deepEqual(res.ids, [mine(2), mine(3)]);
      assert.deepEqual((await client.getOrder({ id: mine(2) })).order?.items, ["New A"]);
      assert.equal((await client.getOrder({ id: mine(3) })).order?.priceCents, 300n);
    });

    test("UpdateOrders is atomic: an unknown id fails the call and changes nothing", async () => {
      await client.addOrder({ order: { id: mine(4), items: ["Before"], destination: "Here", priceCents: 5n } });
      const err = await callError(
        client.updateOrders(from([
          { order: { id: mine(4), items: ["After"], destination: "There", priceCents: 6n } },
          { order: { id: "missing-zz", items: ["x"], destination: "y" } },
        ])),
      );
      assert.equal(err.code, Code.NotFound);
      assert.match(err.rawMessage, /"missing-zz"/);
      assert.deepEqual((await client.getOrder({ id: mine(4) })).order?.items, ["Before"]);
      const invalid = await callError(
        client.updateOrders(from([
          { order: { id: mine(4), items: ["After"], destination: "There" } },
          { order: { id: mine(4), items: [], destination: "There" } },
        ])),
      );
      assert.equal(invalid.code, Code.InvalidArgument);
      assert.deepEqual(fieldViolations(invalid).map((v) => v.field), ["order.items"]);
      assert.deepEqual((await client.getOrder({ id: mine(4) })).order?.items, ["Before"]);
    });

    if (tc.fullDuplex) {
      test("ProcessOrders sends a batch every 3 ids, grouped by destination, then the remainder", async () => {
        const reqs = pushable<ProcessOrdersRequest>();
        const stream = client.processOrders(reqs)[Symbol.asyncIterator]();
        const next = async () => {
          const r = await stream.next();
          assert.equal(r.done, false);
          const s = r.value!.shipment!;
          return [s.id, s.status, ids(s.orders)];
        };
        for (const id of ["102", "103", "104"]) reqs.push(create(ProcessOrdersRequestSchema, { orderId: id }));
        // The first batch arrives while the request stream is still open.
        assert.deepEqual(await next(), ["cmb-1-mountain-view-ca", "Processed!", ["102", "104"]]);
        assert.deepEqual(await next(), ["cmb-1-san-jose-ca", "Processed!", ["103"]]);
        reqs.push(create(ProcessOrdersRequestSchema, { orderId: "105" }));
        reqs.push(create(ProcessOrdersRequestSchema, { orderId: "106" }));
        reqs.end();
        assert.deepEqual(await next(), ["cmb-2-san-jose-ca", "Processed!", ["105"]]);
        assert.deepEqual(await next(), ["cmb-2-mountain-view-ca", "Processed!", ["106"]]);
        assert.equal((await stream.next()).done, true);
      });

      test("ProcessOrders: an unknown id ends the stream with NOT_FOUND naming it", async () => {
        const shipments: string[] = [];
        const err = await callError(
          (async () => {
            for await (const r of client.processOrders(from([{ orderId: "102" }, { orderId: "ghost-1" }]))) {
              shipments.push(r.shipment!.id);
            }
          })(),
        );
        assert.equal(err.code, Code.NotFound);
        assert.match(err.rawMessage, /"ghost-1"/);
        assert.deepEqual(shipments, []);
      });
    }
  });
}

describe("Connect GET (GetOrder is NO_SIDE_EFFECTS)", () => {
  test("connect-node client with useHttpGet sends GET and gets the order", async () => {
    // Record the HTTP method on the wire (interceptors run before the
    // transport picks GET), through the transport's own node HTTP client.
    const methods: string[] = [];
    const nodeClient = createNodeHttpClient({ httpVersion: "1.1" });
    const client = createClient(
      OrderService,
      createConnectProtocolTransport({
        baseUrl: server.url,
        useHttpGet: true,
        useBinaryFormat: false,
        interceptors: [],
        acceptCompression: [],
        sendCompression: null,
        compressMinBytes: 1024,
        readMaxBytes: 1 << 20,
        writeMaxBytes: 1 << 20,
        httpClient: (req) => {
          methods.push(req.method);
          return nodeClient(req);
        },
      }),
    );
    const { order } = await client.getOrder({ id: "105" });
    assert.deepEqual(order?.items, ["Amazon Echo"]);
    assert.deepEqual(methods, ["GET"]);
  });

  test("plain fetch GET with ?encoding=json&message=…&connect=v1", async () => {
    const q = new URLSearchParams({ encoding: "json", message: JSON.stringify({ id: "103" }), connect: "v1" });
    const res = await fetch(`${server.url}/order.v1.OrderService/GetOrder?${q}`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
    const body = (await res.json()) as { order: { id: string; items: string[]; priceCents: string } };
    assert.deepEqual(body.order.items, ["Apple Watch S4"]);
    assert.equal(body.order.priceCents, "40000");
    const missing = await fetch(
      `${server.url}/order.v1.OrderService/GetOrder?${new URLSearchParams({ encoding: "json", message: '{"id":"x9"}', connect: "v1" })}`,
    );
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as { code: string }).code, "not_found");
  });

  test("GET is refused for a method with side effects", async () => {
    const q = new URLSearchParams({ encoding: "json", message: "{}", connect: "v1" });
    const res = await fetch(`${server.url}/order.v1.OrderService/AddOrder?${q}`);
    assert.equal(res.status, 405);
  });
});

describe("gzip compression", () => {
  // An order big enough (> 1 KiB) that the server compresses its response.
  const big = create(OrderSchema, {
    id: "gz-1",
    items: Array.from({ length: 20 }, (_, i) => `Item ${i} `.repeat(10)),
    description: "compressible ".repeat(70),
    destination: "Zip City",
  });
  const gzip = { sendCompression: compressionGzip, acceptCompression: [compressionGzip], compressMinBytes: 0 };
  const cases = [
    { name: "gRPC", header: "grpc-encoding", make: () => createGrpcTransport({ baseUrl: server.url, ...gzip }) },
    {
      name: "Connect",
      header: "content-encoding",
      make: () => createConnectTransport({ baseUrl: server.url, httpVersion: "2", ...gzip }),
    },
  ];
  for (const c of cases) {
    test(`${c.name}: gzip request and response`, async () => {
      const client = createClient(OrderService, c.make());
      await client.addOrder({ order: { ...big, id: `gz-${c.name}` } }).catch((err: unknown) => {
        if (ConnectError.from(err).code !== Code.AlreadyExists) throw err;
      });
      let encoding: string | null = null;
      const { order } = await client.getOrder({ id: `gz-${c.name}` }, { onHeader: (h) => (encoding = h.get(c.header)) });
      assert.equal(encoding, "gzip");
      assert.deepEqual(order?.items, big.items);
    });
  }
});

describe("request log", () => {
  test("one JSON line per RPC with method, protocol, code and duration — never the payload", async () => {
    const secret = "Secret-Item-7f3a";
    // Log lines are written up to 5 ms after they are logged (server/src/line-writer.ts):
    // let the previous tests' lines arrive before counting from here.
    await new Promise((r) => setTimeout(r, 50));
    const from = server.logs.length;
    const grpcOrders = createClient(OrderService, createGrpcTransport({ baseUrl: server.url }));
    await grpcOrders.addOrder({ order: { id: "log-1", items: [secret], destination: "Vault" } });
    const connectOrders = createClient(OrderService, createConnectTransport({ baseUrl: server.url, httpVersion: "1.1" }));
    await connectOrders.getOrder({ id: "log-404" }).catch(() => {});
    // Wait for both lines.
    const lines = () => server.logs.slice(from).filter((l) => l.msg === "rpc");
    for (let i = 0; i < 200 && lines().length < 2; i++) await new Promise((r) => setTimeout(r, 25));
    const [add, get] = lines();
    assert.deepEqual([add?.method, add?.protocol, add?.code], ["order.v1.OrderService/AddOrder", "grpc", "OK"]);
    assert.deepEqual([get?.method, get?.protocol, get?.code], ["order.v1.OrderService/GetOrder", "connect", "NotFound"]);
    assert.equal(typeof add?.ms, "number");
    assert.ok(!JSON.stringify(server.logs).includes(secret), "payloads are not logged");
  });
});
