import { randomUUID } from "node:crypto";
import type { Etcd3 } from "etcd3";
import { encodeEndpoint, endpointKey, type EndpointMetadata } from "@switchboard/naming/endpoint-record";
import { LeasedKeys } from "@switchboard/naming/leased-keys";
import type { Logger } from "../logger.ts";
import type { Registry } from "./registry.ts";

/** Options of `createEtcdRegistry()`. */
export interface EtcdRegistryOptions {
  client: Etcd3;
  /** Key prefix, e.g. "switchboard/services". */
  prefix: string;
  /** Fully qualified names of the hosted services. */
  services: readonly string[];
  /** "host:port" clients dial. */
  address: string;
  /** Lease TTL in seconds. */
  ttlSeconds: number;
  /** Software version announced in the metadata. */
  version: string;
  logger: Logger;
  /** Keep serving this long after deregistering, in ms (clients see the watch event). */
  graceMs: number;
}

/** Server protocols every instance speaks on its one port. */
export const instanceProtocols = ["grpc", "grpc-web", "connect"];

/**
 * Registers every hosted service as `<prefix>/<Service>/<host:port>` →
 * `{"Op":0,"Addr":…,"Metadata":{instanceId,protocols,version,startTime}}`,
 * all under one lease (see LeasedKeys for loss and retry handling).
 */
export function createEtcdRegistry(options: EtcdRegistryOptions): Registry & { readonly instanceId: string } {
  const metadata: EndpointMetadata = {
    instanceId: randomUUID(),
    protocols: instanceProtocols,
    version: options.version,
    startTime: new Date().toISOString(),
  };
  const value = encodeEndpoint(options.address, metadata);
  const entries = new Map(options.services.map((s) => [endpointKey(options.prefix, s, options.address), value]));
  const keys = new LeasedKeys({
    client: options.client,
    entries,
    ttlSeconds: options.ttlSeconds,
    logger: options.logger,
  });
  return {
    instanceId: metadata.instanceId,
    start: () => void keys.start(),
    whenRegistered: () => keys.whenRegistered(),
    get registrations() {
      return keys.registrations;
    },
    async deregister() {
      await keys.remove();
      if (options.graceMs > 0) {
        options.logger.info({ graceMs: options.graceMs }, "deregistered: serving during the grace period");
        await new Promise((r) => setTimeout(r, options.graceMs));
      }
    },
    async close() {
      await keys.remove();
    },
  };
}
