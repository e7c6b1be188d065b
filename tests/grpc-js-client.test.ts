// An independent client: @grpc/grpc-js with @grpc/proto-loader loading the
// .proto files (proto/ as the only include dir), not our generated code.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
// protobufjs is what @grpc/proto-loader is built on; used here only to decode
// grpc-status-details-bin (google.rpc.Status) independently of gen/.
import protobuf from "protobufjs";
import { repoRoot, startServerProcess, type ServerProcess } from "@switchboard/test-harness/server-process";

const protoDir = path.join(repoRoot, "proto");
// google/api/annotations.proto (the REST rules) comes from the google-proto-files package.
const loaderOptions: protoLoader.Options = {
  includeDirs: [protoDir, path.join(repoRoot, "node_modules/google-proto-files")],
  longs: String,
  defaults: true,
};

interface OrderJs { id: string; items: string[]; description: string; priceCents: string; destination: string }
type Unary<Req, Res> = (req: Req, cb: (err: grpc.ServiceError | null, res: Res) => void) => grpc.ClientUnaryCall;
interface OrderServiceClient extends grpc.Client {
  addOrder: Unary<{ order: Partial<OrderJs> }, { id: string }>;
  getOrder: Unary<{ id: string }, { order: OrderJs }>;
  searchOrders(req: { query: string }): grpc.ClientReadableStream<{ order: OrderJs }>;
  updateOrders(cb: (err: grpc.ServiceError | null, res: { ids: string[] }) => void): grpc.ClientWritableStream<{ order: Partial<OrderJs> }>;
  processOrders(): grpc.ClientDuplexStream<{ orderId: string }, { shipment: { id: string; status: string; orders: OrderJs[] } }>;
}

let server: ServerProcess;
let client: OrderServiceClient;
let statusType: protobuf.Type;
let badRequestType: protobuf.Type;

before(async () => {
  server = await startServerProcess();
  const def = protoLoader.loadSync("order/v1/order.proto", loaderOptions);
  const pkg = grpc.loadPackageDefinition(def) as unknown as {
    order: { v1: { OrderService: new (addr: string, creds: grpc.ChannelCredentials) => OrderServiceClient } };
  };
  client = new pkg.order.v1.OrderService(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure());

  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => (target.startsWith("google/protobuf/") ? target : path.join(protoDir, target));
  root.loadSync(["google/rpc/error_details.proto", "google/protobuf/any.proto"]);
  // google.rpc.Status is not part of proto/; its three fields are stable.
  root.define("google.rpc").add(
    new protobuf.Type("Status")
      .add(new protobuf.Field("code", 1, "int32"))
      .add(new protobuf.Field("message", 2, "string"))
      .add(new protobuf.Field("details", 3, "google.protobuf.Any", "repeated")),
  );
  root.resolveAll();
  statusType = root.lookupType("google.rpc.Status");
  badRequestType = root.lookupType("google.rpc.BadRequest");
});
after(async () => {
  client?.close();
  await server?.cleanup();
});

const call = <Req, Res>(fn: Unary<Req, Res>, req: Req) =>
  new Promise<Res>((resolve, reject) => fn.call(client, req, (err, res) => (err ? reject(err) : resolve(res))));

async function failure(p: Promise<unknown>): Promise<grpc.ServiceError> {
  try {
    await p;
  } catch (err) {
    return err as grpc.ServiceError;
  }
  assert.fail("expected the call to fail");
}

test("grpc-js: GetOrder and NOT_FOUND", async () => {
  const { order } = await call(client.getOrder, { id: "102" });
  assert.deepEqual(order, {
    id: "102",
    items: ["Google Pixel 3A", "Mac Book Pro"],
    description: "Google Pixel 3A, Mac Book Pro",
    priceCents: "180000",
    destination: "Mountain View, CA",
  });
  const err = await failure(call(client.getOrder, { id: "404x" }));
  assert.equal(err.code, grpc.status.NOT_FOUND);
  assert.match(err.details, /"404x"/);
});

test("grpc-js: AddOrder, then INVALID_ARGUMENT carrying google.rpc.BadRequest", async () => {
  const order = { id: "js-1", items: ["Kettle"], description: "", priceCents: "999", destination: "Oslo" };
  assert.deepEqual(await call(client.addOrder, { order }), { id: "js-1" });
  assert.deepEqual((await call(client.getOrder, { id: "js-1" })).order, order);

  const err = await failure(call(client.addOrder, { order: { id: "", items: ["x"], destination: "y" } }));
  assert.equal(err.code, grpc.status.INVALID_ARGUMENT);
  const bin = err.metadata.get("grpc-status-details-bin")[0];
  assert.ok(Buffer.isBuffer(bin), "grpc-status-details-bin is present");
  const status = statusType.toObject(statusType.decode(bin)) as { code: number; details: Array<{ type_url: string; value: Uint8Array }> };
  assert.equal(status.code, grpc.status.INVALID_ARGUMENT);
  assert.equal(status.details[0]?.type_url, "type.googleapis.com/google.rpc.BadRequest");
  const br = badRequestType.toObject(badRequestType.decode(status.details[0]!.value)) as {
    fieldViolations: Array<{ field: string; reason: string }>;
  };
  assert.deepEqual(br.fieldViolations.map((v) => [v.field, v.reason]), [["order.id", "REQUIRED"]]);

  const dup = await failure(call(client.addOrder, { order }));
  assert.equal(dup.code, grpc.status.ALREADY_EXISTS);
});

test("grpc-js: SearchOrders streams matches", async () => {
  const found: string[] = [];
  const stream = client.searchOrders({ query: "apple" });
  for await (const res of stream as AsyncIterable<{ order: OrderJs }>) found.push(res.order.id);
  assert.deepEqual(found, ["103", "106"]);
});

test("grpc-js: UpdateOrders (client streaming)", async () => {
  await call(client.addOrder, { order: { id: "js-2", items: ["A"], priceCents: "1", destination: "B" } });
  const res = await new Promise<{ ids: string[] }>((resolve, reject) => {
    const w = client.updateOrders((err, r) => (err ? reject(err) : resolve(r)));
    w.write({ order: { id: "js-2", items: ["A2"], priceCents: "2", destination: "B2" } });
    w.write({ order: { id: "js-2", items: ["A3"], priceCents: "3", destination: "B3" } });
    w.end();
  });
  assert.deepEqual(res.ids, ["js-2", "js-2"]);
  const { order } = await call(client.getOrder, { id: "js-2" });
  assert.deepEqual([order.items, order.priceCents, order.destination], [["A3"], "3", "B3"]);
});

test("grpc-js: ProcessOrders (bidi) batches by 3 and groups by destination", async () => {
  const duplex = client.processOrders();
  for (const id of ["102", "103", "104", "105", "106"]) duplex.write({ orderId: id });
  duplex.end();
  const got: Array<[string, string[]]> = [];
  for await (const r of duplex as AsyncIterable<{ shipment: { id: string; orders: OrderJs[] } }>) {
    got.push([r.shipment.id, r.shipment.orders.map((o) => o.id)]);
  }
  assert.deepEqual(got, [
    ["cmb-1-mountain-view-ca", ["102", "104"]],
    ["cmb-1-san-jose-ca", ["103"]],
    ["cmb-2-san-jose-ca", ["105"]],
    ["cmb-2-mountain-view-ca", ["106"]],
  ]);
});
