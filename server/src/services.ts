import type { ServiceName } from "./config.ts";
import type { ServiceModuleFactory } from "./service-module.ts";
import { orderModule } from "./order/order-module.ts";
import { logModule } from "./log/log-module.ts";
import { nodeModule } from "./node/node-module.ts";

/** The services `--services` can name, in start order. */
export const serviceModules: Record<ServiceName, ServiceModuleFactory> = {
  order: orderModule,
  log: logModule,
  node: nodeModule,
};
