import path from "node:path";
import { OrderService } from "@switchboard/gen/order/v1/order_pb.js";
import type { ServiceModuleFactory } from "../service-module.ts";
import { orderService } from "./order-service.ts";
import type { OrderStore } from "./order-store.ts";
import { PgOrderStore } from "./store/postgres.ts";
import { SqliteOrderStore } from "./store/sqlite.ts";

/** Hosts order.v1.OrderService on `<dataDir>/orders.db`, or on PostgreSQL in cluster mode. */
export const orderModule: ServiceModuleFactory = async ({ options, db }) => {
  const store: OrderStore = db ? await PgOrderStore.open(db) : new SqliteOrderStore(path.resolve(options.dataDir));
  return {
    services: [OrderService],
    register: (router) => router.service(OrderService, orderService(store)),
    close: () => store.close(),
  };
};
