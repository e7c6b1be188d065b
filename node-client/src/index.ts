// @switchboard/node-client: typed clients for the Switchboard services.
// Explicit export list: everything public is named here.
export { createClients } from "./clients.ts";
export type { Clients, ClientsOptions } from "./clients.ts";
export { createTransport, protocols } from "./transport.ts";
export type { ClosableTransport, HttpVersion, Protocol, TransportOptions } from "./transport.ts";
export { bearerTokenInterceptor } from "@switchboard/common/bearer-token";
export { traceContextFromEnv, traceContextInterceptor, type TraceContextHeaders } from "./trace-context.ts";
// Service discovery (etcd) and client-side balancing: see discovery/index.ts.
export {
  createBalancedTransport,
  createEtcdClient,
  createEtcdResolver,
  defaultServicePrefix,
  defaultWorkerPrefix,
  listInstances,
  listWorkers,
  registerWorker,
  staticResolver,
  watchWorkers,
} from "./discovery/index.ts";
export type {
  BalancedProtocol,
  BalancedTransport,
  BalancedTransportOptions,
  Endpoint,
  EndpointMetadata,
  EtcdResolverOptions,
  ListedInstance,
  RegisterWorkerOptions,
  Resolver,
  WorkerRecord,
  WorkerRegistration,
} from "./discovery/index.ts";
