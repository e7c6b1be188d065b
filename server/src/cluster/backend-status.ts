// The storage backends one instance uses, with their health, for
// ClusterService.GetInstanceStatus. A service module that knows more about
// its backend (the JetStream log: replicas, leader, lag) reports it itself
// through ServiceModule.backends(); otherwise the backend is described from
// the options: embedded SQLite/segments under --data-dir, or PostgreSQL.
import { create } from "@bufbuild/protobuf";
import { BackendHealth, BackendSchema, type Backend } from "@switchboard/gen/cluster/v1/cluster_pb.js";
import type { ServerOptions } from "../config.ts";
import type { PgDb } from "../db/pg-db.ts";
import { redactUrl } from "../db/redact.ts";
import type { ServiceModule } from "../service-module.ts";

/** Reports the backends of the running instance. */
export type BackendReporter = () => Promise<Backend[]>;

/** Role and embedded location of each hostable service's storage. */
// Embedded targets are named relative to --data-dir: the status is open to any
// client, and absolute server paths are not its business (as in error messages).
const roles: Record<string, { role: string; embedded: () => Pick<Backend, "kind" | "target">; pg: boolean }> = {
  "order.v1.OrderService": { role: "orders", embedded: () => ({ kind: "sqlite", target: "<data-dir>/orders.db" }), pg: true },
  "node.v1.NodeService": { role: "tasks", embedded: () => ({ kind: "sqlite", target: "<data-dir>/nodes.db" }), pg: true },
  "log.v1.LogService": { role: "log", embedded: () => ({ kind: "segments", target: "<data-dir>/log" }), pg: false },
};

/** The backends of `modules` as this instance sees them right now. */
export function backendReporter(options: ServerOptions, modules: readonly ServiceModule[], db: PgDb | undefined): BackendReporter {
  return async () => {
    const out: Backend[] = [];
    for (const m of modules) {
      if (m.backends) {
        out.push(...(await m.backends()));
        continue;
      }
      for (const s of m.services) {
        const r = roles[s.typeName];
        if (!r) continue;
        if (r.pg && db) {
          out.push(
            create(BackendSchema, {
              role: r.role,
              kind: "postgresql",
              target: redactUrl(db.url),
              shared: true,
              health: db.up ? BackendHealth.HEALTHY : BackendHealth.UNHEALTHY,
              detail: db.up ? "" : "unreachable: calls that need it fail with UNAVAILABLE",
            }),
          );
        } else {
          // Embedded stores live in this process: healthy while it serves.
          out.push(create(BackendSchema, { role: r.role, ...r.embedded(), shared: false, health: BackendHealth.HEALTHY }));
        }
      }
    }
    return out;
  };
}
