import type { Etcd3 } from "etcd3";
import { createEtcdClient } from "./etcd-client.ts";
import { decodeEndpoint, defaultServicePrefix, normalizePrefix, serviceKeyPrefix, type Endpoint } from "./endpoint-record.ts";

/** One registered instance of a service, as listed from etcd. */
export type ListedInstance = Endpoint;

/**
 * Reads the registered service instances once (all services, or one),
 * ordered by service then address — for `switchboard services`.
 */
export async function listInstances(
  etcd: string | readonly string[] | Etcd3,
  options: { prefix?: string; service?: string } = {},
): Promise<ListedInstance[]> {
  const prefix = options.prefix ?? defaultServicePrefix;
  const ownClient = typeof etcd === "string" || Array.isArray(etcd);
  const client = ownClient ? createEtcdClient(etcd as string | string[]) : (etcd as Etcd3);
  try {
    const keyPrefix = options.service ? serviceKeyPrefix(prefix, options.service) : normalizePrefix(prefix) + "/";
    const all = await client.getAll().prefix(keyPrefix).strings();
    return Object.entries(all)
      .map(([k, v]) => decodeEndpoint(prefix, k, v))
      .filter((e): e is Endpoint => e !== undefined)
      .sort((a, b) => (a.service === b.service ? (a.address < b.address ? -1 : 1) : a.service < b.service ? -1 : 1));
  } finally {
    if (ownClient) client.close();
  }
}
