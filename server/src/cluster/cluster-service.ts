import { create } from "@bufbuild/protobuf";
import type { ConnectRouter, HandlerContext } from "@connectrpc/connect";
import {
  ClusterService,
  GetClusterStatusResponseSchema,
  GetInstanceStatusResponseSchema,
  ListInstancesResponseSchema,
  ListWorkersResponseSchema,
  WatchInstancesResponseSchema,
  type ListInstancesResponse,
  type ListWorkersResponse,
  type WatchInstancesResponse,
} from "@switchboard/gen/cluster/v1/cluster_pb.js";
import { abortReason, invalidArgument } from "../errors.ts";
import { clusterStatus, ownStatus, type StatusSource } from "./cluster-status.ts";
import type { InstanceView } from "./instance-view.ts";
import { disabledWorkerView, type WorkerView } from "./worker-view.ts";

const serviceName = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$/;

function checkService(service: string): void {
  if (service !== "" && !serviceName.test(service)) {
    throw invalidArgument("invalid request", [
      {
        field: "service",
        description: `must be a fully qualified service name like "order.v1.OrderService", got "${service}"`,
        reason: "INVALID_FORMAT",
      },
    ]);
  }
}

/** Mounts ClusterService (always; empty with registry_enabled=false without etcd). */
export function registerClusterService(
  router: ConnectRouter,
  view: InstanceView,
  workerView: WorkerView = disabledWorkerView,
  status: StatusSource = { address: () => "", services: () => [], backends: async () => [] },
): void {
  router.service(ClusterService, {
    async getInstanceStatus() {
      return create(GetInstanceStatusResponseSchema, { instance: await ownStatus(status, view) });
    },
    async getClusterStatus() {
      return create(GetClusterStatusResponseSchema, { registryEnabled: view.enabled, instances: await clusterStatus(status, view) });
    },
    listWorkers(): ListWorkersResponse {
      return create(ListWorkersResponseSchema, { registryEnabled: workerView.enabled, workers: workerView.workers() });
    },
    listInstances(req): ListInstancesResponse {
      checkService(req.service);
      return create(ListInstancesResponseSchema, {
        registryEnabled: view.enabled,
        instances: view.instances(req.service),
      });
    },
    async *watchInstances(req, ctx: HandlerContext): AsyncGenerator<WatchInstancesResponse> {
      checkService(req.service);
      const snapshot = () =>
        create(WatchInstancesResponseSchema, { registryEnabled: view.enabled, instances: view.instances(req.service) });
      yield snapshot();
      // Without a registry nothing changes, but the stream stays open like any watch.
      // Changes are coalesced: after a burst, one response with the latest set.
      let changed = false;
      let wake: (() => void) | undefined;
      const unsubscribe = view.subscribe(() => {
        changed = true;
        wake?.();
      });
      const onAbort = () => wake?.();
      ctx.signal.addEventListener("abort", onAbort);
      try {
        let last = JSON.stringify(view.instances(req.service).map((i) => [i.service, i.address, i.instanceId]));
        for (;;) {
          if (!changed && !ctx.signal.aborted) await new Promise<void>((r) => (wake = r));
          wake = undefined;
          if (ctx.signal.aborted) throw abortReason(ctx.signal);
          changed = false;
          const next = snapshot();
          const key = JSON.stringify(next.instances.map((i) => [i.service, i.address, i.instanceId]));
          if (key === last) continue;
          last = key;
          yield next;
        }
      } finally {
        unsubscribe();
        ctx.signal.removeEventListener("abort", onAbort);
      }
    },
  });
}
