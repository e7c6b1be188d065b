import { Code, ConnectError } from "@connectrpc/connect";
import type { Etcd3 } from "etcd3";
import { createEtcdClient } from "./etcd-client.ts";
import { decodeEndpoint, defaultServicePrefix, normalizePrefix, serviceKeyPrefix, type Endpoint } from "./endpoint-record.ts";
import { PrefixWatcher } from "./prefix-watcher.ts";

/** Knows the current endpoints of one service and tells when they change. */
export interface Resolver {
  /** The endpoints as last known, ordered by address. */
  endpoints(): readonly Endpoint[];
  /** Calls `listener` after every change; returns an unsubscribe function. */
  subscribe(listener: (endpoints: readonly Endpoint[]) => void): () => void;
  /**
   * Resolves once the endpoint set has been read at least once; with
   * `timeoutMs`, rejects with UNAVAILABLE if that takes longer.
   */
  ready(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/** Options of `createEtcdResolver()`. */
export interface EtcdResolverOptions {
  /** etcd endpoints ("http://127.0.0.1:2379", comma-separated or an array), or a client to share. */
  etcd: string | readonly string[] | Etcd3;
  /**
   * Fully qualified service name, e.g. "order.v1.OrderService", or "*" for
   * every registered instance whatever it hosts (one endpoint per address),
   * e.g. for health checks and reflection, which every instance serves.
   */
  service: string;
  /** Registry prefix. Default "switchboard/services". */
  prefix?: string;
  /** Called when etcd cannot be read; the last endpoint set stays in use. */
  onError?: (err: Error) => void;
}

/**
 * Resolves a service from etcd: lists `<prefix>/<service>/` (with the
 * trailing slash, so "foo" never sees "foo_other"), then watches from the
 * listed revision + 1; re-lists after a canceled or compacted watch. Keeps
 * the last endpoint set while etcd is unreachable.
 */
export function createEtcdResolver(options: EtcdResolverOptions): Resolver {
  const prefix = options.prefix ?? defaultServicePrefix;
  const ownClient = typeof options.etcd === "string" || Array.isArray(options.etcd);
  const client = ownClient ? createEtcdClient(options.etcd as string | string[]) : (options.etcd as Etcd3);
  const listeners = new Set<(endpoints: readonly Endpoint[]) => void>();
  let current: readonly Endpoint[] = [];
  const any = options.service === "*";
  const keyPrefix = any ? normalizePrefix(prefix) + "/" : serviceKeyPrefix(prefix, options.service);
  const watcher = new PrefixWatcher(client, keyPrefix, {
    onChange(entries) {
      const next: Endpoint[] = [];
      const seen = new Set<string>();
      for (const [key, value] of entries) {
        const ep = decodeEndpoint(prefix, key, value);
        if (!ep || (!any && ep.service !== options.service) || seen.has(ep.address)) continue;
        seen.add(ep.address);
        next.push(ep);
      }
      next.sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
      current = next;
      for (const l of listeners) l(current);
    },
    onError: options.onError,
  }).start();
  return {
    endpoints: () => current,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    ready: (timeoutMs) => withTimeout(watcher.whenListed(), timeoutMs, `etcd: ${options.service} not resolved`),
    async close() {
      listeners.clear();
      await watcher.close();
      if (ownClient) client.close();
    },
  };
}

/** A resolver with a fixed endpoint list ("host:port"), e.g. for tests or without etcd. */
export function staticResolver(service: string, addresses: readonly string[]): Resolver {
  const eps = addresses.map((address) => ({ address, service }));
  return {
    endpoints: () => eps,
    subscribe: () => () => undefined,
    ready: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
}

function withTimeout(p: Promise<void>, timeoutMs: number | undefined, what: string): Promise<void> {
  if (timeoutMs === undefined) return p;
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<void>((_, reject) => {
      timer = setTimeout(() => reject(new ConnectError(`${what} within ${timeoutMs} ms`, Code.Unavailable)), timeoutMs);
    }),
  ]).finally(() => clearTimeout(timer));
}
