// Service discovery and client-side load balancing over etcd.
export {
  createBalancedTransport,
  type BalancedProtocol,
  type BalancedTransport,
  type BalancedTransportOptions,
} from "./balanced-transport.ts";
export { createEtcdClient, parseEtcdEndpoints, type EtcdClientOptions } from "./etcd-client.ts";
export {
  decodeEndpoint,
  defaultServicePrefix,
  defaultWorkerPrefix,
  encodeEndpoint,
  endpointKey,
  normalizePrefix,
  serviceKeyPrefix,
  type Endpoint,
  type EndpointMetadata,
} from "./endpoint-record.ts";
export { LeasedKeys, type DiscoveryLogger, type LeasedKeysOptions } from "./leased-keys.ts";
export { RoundRobinPicker, type PickerOptions } from "./picker.ts";
export { PrefixWatcher, type PrefixWatcherOptions } from "./prefix-watcher.ts";
export { createEtcdResolver, staticResolver, type EtcdResolverOptions, type Resolver } from "./resolver.ts";
export { failedBeforeProcessing, isConnectionFailure, isIdempotent, isRetryable } from "./retry-policy.ts";
export { listInstances, type ListedInstance } from "./list-instances.ts";
export {
  listWorkers,
  registerWorker,
  watchWorkers,
  type RegisterWorkerOptions,
  type WorkerRegistration,
} from "./register-worker.ts";
export { decodeWorker, workerKey, type WorkerRecord } from "./worker-record.ts";
