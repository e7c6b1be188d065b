import type { DescService } from "@bufbuild/protobuf";
import type { ConnectRouter } from "@connectrpc/connect";
import type { ServerOptions } from "./config.ts";
import type { HealthStatus } from "./health/health-status.ts";
import type { Logger } from "./logger.ts";
import type { Metrics } from "./metrics/metrics.ts";
import type { PgDb } from "./db/pg-db.ts";
import type { Backend } from "@switchboard/gen/cluster/v1/cluster_pb.js";

/** What a service module gets from the server when it opens. */
export interface ServiceContext {
  options: ServerOptions;
  logger: Logger;
  health: HealthStatus;
  /** Aborted (with UNAVAILABLE) when the server begins to shut down. */
  shutdownSignal: AbortSignal;
  /** Where the service reports its domain metrics; undefined with --no-metrics. */
  metrics?: Metrics;
  /** Cluster mode (`--postgres`): the shared PostgreSQL pool; undefined → embedded SQLite. */
  db?: PgDb;
}

/**
 * One hostable service (`--services`): opens its storage, mounts its
 * implementation on the router, and closes after the server has drained.
 */
export interface ServiceModule {
  /** The protobuf services it serves (for health, reflection and etcd). */
  readonly services: readonly DescService[];
  register(router: ConnectRouter): void;
  close(): Promise<void>;
  /**
   * Its storage backends and their health, for ClusterService; optional:
   * without it they are described from the options (embedded or PostgreSQL).
   */
  backends?(): Promise<Backend[]>;
}

export type ServiceModuleFactory = (ctx: ServiceContext) => Promise<ServiceModule> | ServiceModule;
