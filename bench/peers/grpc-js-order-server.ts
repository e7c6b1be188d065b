// Reference peer for bench/perf.ts: order.v1.OrderService (AddOrder, GetOrder,
// SearchOrders) on a plain @grpc/grpc-js server, loading proto/order/v1/order.proto
// with @grpc/proto-loader and keeping the orders in memory (the seed orders
// 102–106, plus whatever AddOrder adds). No logging, no interceptors.
//
//   node bench/peers/grpc-js-order-server.ts   → prints "port N"
import path from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

const root = path.join(import.meta.dirname, "../..");
const def = protoLoader.loadSync(path.join(root, "proto/order/v1/order.proto"), {
  includeDirs: [path.join(root, "proto"), path.join(root, "node_modules/google-proto-files")], // google/api/annotations.proto
  longs: String,
  defaults: true,
});
const pkg = grpc.loadPackageDefinition(def) as unknown as {
  order: { v1: { OrderService: { service: grpc.ServiceDefinition } } };
};

interface Order {
  id: string;
  items: string[];
  description: string;
  priceCents: string;
  destination: string;
}
const orders = new Map<string, Order>();
const seed: Array<[string, string[], string, string]> = [
  ["102", ["Google Pixel 3A", "Mac Book Pro"], "Mountain View, CA", "180000"],
  ["103", ["Apple Watch S4"], "San Jose, CA", "40000"],
  ["104", ["Google Home Mini", "Google Nest Hub"], "Mountain View, CA", "40000"],
  ["105", ["Amazon Echo"], "San Jose, CA", "3000"],
  ["106", ["Amazon Echo", "Apple iPhone XS"], "Mountain View, CA", "30000"],
];
for (const [id, items, destination, priceCents] of seed) {
  orders.set(id, { id, items, description: items.join(", "), priceCents, destination });
}
let sorted: Order[] | undefined;

const server = new grpc.Server();
server.addService(pkg.order.v1.OrderService.service, {
  addOrder(call: grpc.ServerUnaryCall<{ order?: Order }, unknown>, cb: grpc.sendUnaryData<unknown>) {
    const o = call.request.order;
    if (!o?.id) return cb({ code: grpc.status.INVALID_ARGUMENT, details: "order.id: is required" });
    if (orders.has(o.id)) return cb({ code: grpc.status.ALREADY_EXISTS, details: `order "${o.id}" already exists` });
    orders.set(o.id, o);
    sorted = undefined;
    cb(null, { id: o.id });
  },
  getOrder(call: grpc.ServerUnaryCall<{ id: string }, unknown>, cb: grpc.sendUnaryData<unknown>) {
    const o = orders.get(call.request.id);
    if (!o) return cb({ code: grpc.status.NOT_FOUND, details: `order "${call.request.id}" not found` });
    cb(null, { order: o });
  },
  searchOrders(call: grpc.ServerWritableStream<{ query: string }, unknown>) {
    const q = call.request.query.toLowerCase();
    sorted ??= [...orders.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const list = sorted;
    let i = 0;
    const pump = () => {
      while (i < list.length) {
        if (call.cancelled) return;
        const o = list[i++]!;
        if (q !== "" && !o.items.some((it) => it.toLowerCase().includes(q))) continue;
        if (!call.write({ order: o })) {
          call.once("drain", pump);
          return;
        }
      }
      call.end();
    };
    pump();
  },
});
server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) throw err;
  process.stdout.write(`port ${port}\n`);
});
process.on("SIGTERM", () => server.forceShutdown());
