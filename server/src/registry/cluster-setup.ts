import { readFileSync } from "node:fs";
import type { Etcd3 } from "etcd3";
import { createEtcdClient } from "@switchboard/naming/etcd-client";
import { disabledInstanceView, etcdInstanceView, type InstanceView } from "../cluster/instance-view.ts";
import { disabledWorkerView, etcdWorkerView, type WorkerView } from "../cluster/worker-view.ts";
import { defaultWorkerPrefix } from "@switchboard/naming/endpoint-record";
import type { ServerOptions } from "../config.ts";
import type { Logger } from "../logger.ts";
import { defaultAdvertise } from "./advertise.ts";
import { createEtcdRegistry } from "./etcd-registry.ts";
import type { Registry } from "./registry.ts";

/** The server's side of the cluster: registration and the instance view. */
export interface ClusterSetup {
  /** What ClusterService reports. */
  readonly view: InstanceView;
  /** Registered workers (under switchboard/workers), for ClusterService.ListWorkers. */
  readonly workers: WorkerView;
  /** The registry once `register()` ran with --etcd. */
  readonly registry: Registry | undefined;
  /** After the listener is up: announce the hosted services (background, with retries). */
  register(host: string, port: number, services: readonly string[]): void;
  /** First shutdown step: deregister, then keep serving for the grace period. */
  beforeDrain(): Promise<void>;
  /** Last shutdown step: close the etcd client. */
  close(): Promise<void>;
}

function serverVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version?: string };
    return pkg.version ?? "0.0.0";
  } catch {
    return "0.0.0";
  }
}

/** Without --etcd nothing is registered and the view is empty (zero external services by default). */
export function setupCluster(options: ServerOptions, logger: Logger): ClusterSetup {
  if (!options.etcd || options.etcd.length === 0) {
    return {
      view: disabledInstanceView,
      workers: disabledWorkerView,
      registry: undefined,
      register: () => undefined,
      beforeDrain: () => Promise.resolve(),
      close: () => Promise.resolve(),
    };
  }
  const client: Etcd3 = createEtcdClient(options.etcd);
  const view = etcdInstanceView(client, options.registryPrefix, logger);
  const workers = etcdWorkerView(client, defaultWorkerPrefix);
  let registry: Registry | undefined;
  return {
    view,
    workers,
    get registry() {
      return registry;
    },
    register(host, port, services) {
      const address = options.advertise ?? defaultAdvertise(host, port);
      logger.info(
        { etcd: options.etcd, prefix: options.registryPrefix, address, leaseTtlSeconds: options.leaseTtlSeconds },
        "registering in etcd",
      );
      registry = createEtcdRegistry({
        client,
        prefix: options.registryPrefix,
        services,
        address,
        ttlSeconds: options.leaseTtlSeconds,
        version: serverVersion(),
        logger,
        graceMs: options.deregisterGraceMs,
      });
      registry.start();
    },
    async beforeDrain() {
      await registry?.deregister();
    },
    async close() {
      await registry?.close();
      await view.close();
      await workers.close();
      client.close();
    },
  };
}
