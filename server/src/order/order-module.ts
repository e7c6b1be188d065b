import path from "node:path";
import { OrderService } from "../../../gen/order/v1/order_pb.js";
import type { ServiceModuleFactory } from "../service-module.ts";
import { orderService } from "./order-service.ts";
import { SqliteOrderStore } from "./sqlite-order-store.ts";

/** Hosts order.v1.OrderService on `<dataDir>/orders.db`. */
export const orderModule: ServiceModuleFactory = ({ options }) => {
  const store = new SqliteOrderStore(path.resolve(options.dataDir));
  return {
    services: [OrderService],
    register: (router) => router.service(OrderService, orderService(store)),
    close: async () => store.close(),
  };
};
