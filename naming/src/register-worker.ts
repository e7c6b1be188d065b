import { randomUUID } from "node:crypto";
import type { Etcd3 } from "etcd3";
import { createEtcdClient } from "./etcd-client.ts";
import { decodeWorker, defaultWorkerPrefix, normalizePrefix, workerKey, type WorkerRecord } from "./worker-record.ts";
import { LeasedKeys, type DiscoveryLogger } from "./leased-keys.ts";
import { PrefixWatcher } from "./prefix-watcher.ts";

/** Options of `registerWorker()`. */
export interface RegisterWorkerOptions {
  /** etcd endpoints (comma-separated or an array), or a shared client. */
  etcd: string | readonly string[] | Etcd3;
  /** Worker id; unique among workers. */
  id: string;
  /** Free-form labels, e.g. { zone: "a" }. */
  labels?: Record<string, string>;
  /** Address of the worker's server, if it has one. */
  address?: string;
  /** Registry prefix of workers. Default "switchboard/workers". */
  prefix?: string;
  /** Lease TTL in seconds. Default 10. */
  ttlSeconds?: number;
  logger?: DiscoveryLogger;
}

/** A worker's registration; `close()` deregisters. */
export interface WorkerRegistration {
  readonly key: string;
  /** Resolves once the worker is registered. */
  registered(): Promise<void>;
  /** Deletes the key, revokes the lease and closes an own etcd client. */
  close(): Promise<void>;
}

/**
 * Registers a worker node under `<prefix>/<id>` with a lease that is kept
 * alive and re-created after loss, like server instances, so the UI and the
 * CLI can list workers.
 */
export function registerWorker(options: RegisterWorkerOptions): WorkerRegistration {
  const ownClient = typeof options.etcd === "string" || Array.isArray(options.etcd);
  const client = ownClient ? createEtcdClient(options.etcd as string | string[]) : (options.etcd as Etcd3);
  const prefix = options.prefix ?? defaultWorkerPrefix;
  const key = workerKey(prefix, options.id);
  const record: WorkerRecord = {
    id: options.id,
    labels: options.labels ?? {},
    address: options.address ?? "",
    instanceId: randomUUID(),
    startTime: new Date().toISOString(),
  };
  const keys = new LeasedKeys({
    client,
    entries: new Map([[key, JSON.stringify(record)]]),
    ttlSeconds: options.ttlSeconds ?? 10,
    logger: options.logger,
  }).start();
  return {
    key,
    registered: () => keys.whenRegistered(),
    async close() {
      await keys.remove();
      if (ownClient) client.close();
    },
  };
}

/** Reads the registered workers once. */
export async function listWorkers(
  etcd: string | readonly string[] | Etcd3,
  prefix: string = defaultWorkerPrefix,
): Promise<WorkerRecord[]> {
  const ownClient = typeof etcd === "string" || Array.isArray(etcd);
  const client = ownClient ? createEtcdClient(etcd as string | string[]) : (etcd as Etcd3);
  try {
    const all = await client.getAll().prefix(normalizePrefix(prefix) + "/").strings();
    return Object.entries(all)
      .map(([k, v]) => decodeWorker(prefix, k, v))
      .filter((w): w is WorkerRecord => w !== undefined)
      .sort((a, b) => (a.id < b.id ? -1 : 1));
  } finally {
    if (ownClient) client.close();
  }
}

/** Keeps a live list of registered workers. */
export function watchWorkers(
  client: Etcd3,
  onChange: (workers: WorkerRecord[]) => void,
  prefix: string = defaultWorkerPrefix,
): { close(): Promise<void> } {
  const watcher = new PrefixWatcher(client, normalizePrefix(prefix) + "/", {
    onChange(entries) {
      const workers = [...entries]
        .map(([k, v]) => decodeWorker(prefix, k, v))
        .filter((w): w is WorkerRecord => w !== undefined)
        .sort((a, b) => (a.id < b.id ? -1 : 1));
      onChange(workers);
    },
  }).start();
  return { close: () => watcher.close() };
}
