import { Counter, Gauge, type Registry } from "prom-client";
import type { ClusterSetup } from "../registry/cluster-setup.ts";

/** Registry metrics, read from the cluster setup at scrape time. */
export function clusterMetrics(registry: Registry, cluster: Pick<ClusterSetup, "registry" | "view">): void {
  new Counter({
    name: "switchboard_registry_reregistrations_total",
    help: "Times this server registered its services again with a new etcd lease after losing one.",
    registers: [registry],
    collect() {
      this.reset();
      this.inc(Math.max(0, (cluster.registry?.registrations ?? 0) - 1));
    },
  });
  new Gauge({
    name: "switchboard_registry_discovered_endpoints",
    help: "Service endpoints registered in etcd as this server sees them, by service (0 series without --etcd).",
    labelNames: ["service"],
    registers: [registry],
    collect() {
      this.reset();
      const counts = new Map<string, number>();
      for (const i of cluster.view.instances()) counts.set(i.service, (counts.get(i.service) ?? 0) + 1);
      for (const [service, n] of counts) this.set({ service }, n);
    },
  });
}
