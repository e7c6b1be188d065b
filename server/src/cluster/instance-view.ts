import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { Etcd3 } from "etcd3";
import { InstanceSchema, type Instance } from "@switchboard/gen/cluster/v1/cluster_pb.js";
import { decodeEndpoint, normalizePrefix, type Endpoint } from "@switchboard/naming/endpoint-record";
import { PrefixWatcher } from "@switchboard/naming/prefix-watcher";
import type { Logger } from "../logger.ts";

/** The registered service instances, kept up to date. */
export interface InstanceView {
  /** False when the server runs without a registry. */
  readonly enabled: boolean;
  /** Instances (of one service, or all), ordered by service then address. */
  instances(service?: string): Instance[];
  /** Calls `listener` after every change; returns an unsubscribe function. */
  subscribe(listener: () => void): () => void;
  close(): Promise<void>;
}

/** The view of a server without --etcd: always empty. */
export const disabledInstanceView: InstanceView = {
  enabled: false,
  instances: () => [],
  subscribe: () => () => undefined,
  close: () => Promise.resolve(),
};

/** Mirrors every registration under `prefix` from etcd (list, then watch). */
export function etcdInstanceView(client: Etcd3, prefix: string, logger: Logger): InstanceView {
  const listeners = new Set<() => void>();
  let all: Instance[] = [];
  let failing = false;
  const watcher = new PrefixWatcher(client, normalizePrefix(prefix) + "/", {
    onChange(entries) {
      failing = false;
      all = [...entries]
        .map(([k, v]) => decodeEndpoint(prefix, k, v))
        .filter((e): e is Endpoint => e !== undefined)
        .sort((a, b) => (a.service === b.service ? (a.address < b.address ? -1 : 1) : a.service < b.service ? -1 : 1))
        .map(toInstance);
      for (const l of listeners) l();
    },
    onError(err) {
      if (!failing) logger.warn({ err: err.message }, "etcd: cannot read registrations; showing the last known");
      failing = true;
    },
  }).start();
  return {
    enabled: true,
    instances: (service) => (service ? all.filter((i) => i.service === service) : all),
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {
      listeners.clear();
      await watcher.close();
    },
  };
}

function toInstance(e: Endpoint): Instance {
  const started = e.metadata?.startTime ? new Date(e.metadata.startTime) : undefined;
  return create(InstanceSchema, {
    service: e.service,
    address: e.address,
    instanceId: e.metadata?.instanceId ?? "",
    protocols: e.metadata?.protocols ?? [],
    version: e.metadata?.version ?? "",
    startTime: started && !Number.isNaN(started.getTime()) ? timestampFromDate(started) : undefined,
  });
}
