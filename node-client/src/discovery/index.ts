// Service discovery and client-side load balancing over etcd.
export {
  createBalancedTransport,
  type BalancedProtocol,
  type BalancedTransport,
  type BalancedTransportOptions,
} from "./balanced-transport.ts";
export { createEtcdClient, parseEtcdEndpoints, type EtcdClientOptions } from "@switchboard/naming/etcd-client";
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
} from "@switchboard/naming/endpoint-record";
export { LeasedKeys, type DiscoveryLogger, type LeasedKeysOptions } from "@switchboard/naming/leased-keys";
export { RoundRobinPicker, type PickerOptions } from "./picker.ts";
export { PrefixWatcher, type PrefixWatcherOptions } from "@switchboard/naming/prefix-watcher";
export { createEtcdResolver, staticResolver, type EtcdResolverOptions, type Resolver } from "@switchboard/naming/resolver";
export { failedBeforeProcessing, isConnectionFailure, isIdempotent, isRetryable } from "./retry-policy.ts";
export { listInstances, type ListedInstance } from "@switchboard/naming/list-instances";
export {
  listWorkers,
  registerWorker,
  watchWorkers,
  type RegisterWorkerOptions,
  type WorkerRegistration,
} from "@switchboard/naming/register-worker";
export { decodeWorker, workerKey, type WorkerRecord } from "@switchboard/naming/worker-record";
