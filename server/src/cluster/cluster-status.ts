// ClusterService.GetInstanceStatus / GetClusterStatus: this instance's own
// status, and every registered instance's, collected by asking each one
// (Connect JSON over HTTP, a short deadline each, all at once).
import { create, fromJson } from "@bufbuild/protobuf";
import {
  GetInstanceStatusResponseSchema,
  InstanceStatusSchema,
  type Instance,
  type InstanceStatus,
} from "@switchboard/gen/cluster/v1/cluster_pb.js";
import type { BackendReporter } from "./backend-status.ts";
import type { InstanceView } from "./instance-view.ts";

/** What the status calls need from the server. */
export interface StatusSource {
  /** "host:port" clients dial for this instance (known once it listens). */
  address(): string;
  /** Services this instance hosts. */
  services(): string[];
  backends: BackendReporter;
  /** "http" or "https": how to reach the other instances. Default "http". */
  scheme?: string;
  /** Deadline of each remote GetInstanceStatus, ms. Default 2000. */
  timeoutMs?: number;
}

/** The answering instance's own status. */
export async function ownStatus(src: StatusSource, view: InstanceView): Promise<InstanceStatus> {
  const address = src.address();
  const reg: Instance | undefined = view.instances().find((i) => i.address === address);
  return create(InstanceStatusSchema, {
    address,
    instanceId: reg?.instanceId ?? "",
    startTime: reg?.startTime,
    services: src.services(),
    reachable: true,
    backends: await src.backends(),
  });
}

/** Every registered instance's status, the answering one first, then by address. */
export async function clusterStatus(src: StatusSource, view: InstanceView): Promise<InstanceStatus[]> {
  const self = await ownStatus(src, view);
  const byAddress = new Map<string, Instance[]>();
  for (const i of view.instances()) {
    if (i.address === self.address) continue;
    byAddress.set(i.address, [...(byAddress.get(i.address) ?? []), i]);
  }
  const others = await Promise.all(
    [...byAddress.keys()].sort().map(async (address) => {
      const regs = byAddress.get(address)!;
      const registered = create(InstanceStatusSchema, {
        address,
        instanceId: regs[0]!.instanceId,
        startTime: regs[0]!.startTime,
        services: regs.map((r) => r.service),
      });
      try {
        const res = await fetch(`${src.scheme ?? "http"}://${address}/cluster.v1.ClusterService/GetInstanceStatus`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: "{}",
          signal: AbortSignal.timeout(src.timeoutMs ?? 2000),
        });
        const body = (await res.json()) as Record<string, unknown>;
        if (!res.ok) throw new Error(`${String(body.code ?? res.status)}: ${String(body.message ?? "")}`);
        const status = fromJson(GetInstanceStatusResponseSchema, body as never, { ignoreUnknownFields: true }).instance;
        return create(InstanceStatusSchema, { ...registered, reachable: true, backends: status?.backends ?? [] });
      } catch (err) {
        const e = err as Error;
        return create(InstanceStatusSchema, { ...registered, reachable: false, error: e.name === "TimeoutError" ? "no answer within the deadline" : e.message });
      }
    }),
  );
  return [self, ...others];
}
