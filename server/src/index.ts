// Public API of the server package.
export { start } from "./server.ts";
export type { RunningServer, StartOptions } from "./server.ts";
export { defaultServerOptions, parseServerArgs, serviceNames } from "./config.ts";
export type { ServerOptions, ServiceName } from "./config.ts";
export { HealthStatus, ServingStatus } from "./health/health-status.ts";
export { invalidArgument, fieldViolations } from "./errors.ts";
export type { FieldViolation } from "./errors.ts";
export type { ServiceModule, ServiceModuleFactory, ServiceContext } from "./service-module.ts";
export type { OrderStore } from "./order/order-store.ts";
