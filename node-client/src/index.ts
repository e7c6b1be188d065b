// @switchboard/node-client: typed clients for the Switchboard services.
// Explicit export list: everything public is named here.
export { createClients } from "./clients.ts";
export type { Clients, ClientsOptions } from "./clients.ts";
export { createTransport, protocols } from "./transport.ts";
export type { ClosableTransport, HttpVersion, Protocol, TransportOptions } from "./transport.ts";
export { bearerTokenInterceptor } from "@switchboard/common/bearer-token";
export { traceContextFromEnv, traceContextInterceptor, type TraceContextHeaders } from "./trace-context.ts";
// Client-side balancing over etcd (discovery/), and the etcd naming it reads
// and workers register with (@switchboard/naming), re-exported for scripts.
export { createBalancedTransport } from "./discovery/balanced-transport.ts";
export type { BalancedProtocol, BalancedTransport, BalancedTransportOptions } from "./discovery/balanced-transport.ts";
export { createEtcdClient } from "@switchboard/naming/etcd-client";
export { defaultServicePrefix, type Endpoint, type EndpointMetadata } from "@switchboard/naming/endpoint-record";
export { defaultWorkerPrefix, type WorkerRecord } from "@switchboard/naming/worker-record";
export { createEtcdResolver, staticResolver, type EtcdResolverOptions, type Resolver } from "@switchboard/naming/resolver";
export { listInstances, type ListedInstance } from "@switchboard/naming/list-instances";
export {
  listWorkers,
  registerWorker,
  watchWorkers,
  type RegisterWorkerOptions,
  type WorkerRegistration,
} from "@switchboard/naming/register-worker";
