import type { DescService } from "@bufbuild/protobuf";
import type { ServerOptions } from "../config.ts";
import { ServingStatus, type HealthStatus } from "../health/health-status.ts";
import type { Logger } from "../logger.ts";
import { PgDb } from "./pg-db.ts";

/** Services whose state lives in PostgreSQL in cluster mode. */
const pgServices = new Set(["order.v1.OrderService", "node.v1.NodeService"]);

/** The server's PostgreSQL connection in cluster mode. */
export interface ServerDatabase {
  readonly db: PgDb;
  /**
   * Health follows the database: the services that need it turn NOT_SERVING
   * while it is unreachable and SERVING again when it is back (not after the
   * server began to shut down).
   */
  followHealth(health: HealthStatus, services: readonly DescService[], shutdown: AbortSignal): void;
  close(): Promise<void>;
}

/** Opens PostgreSQL when `--postgres` is set; undefined in embedded mode. */
export async function openDatabase(options: ServerOptions, logger: Logger): Promise<ServerDatabase | undefined> {
  if (options.postgres === undefined) return undefined;
  const db = await PgDb.open(
    { url: options.postgres, poolSize: options.pgPoolSize, statementTimeoutMs: options.pgStatementTimeoutMs },
    logger,
  );
  return {
    db,
    followHealth(health, services, shutdown) {
      const names = services.map((s) => s.typeName).filter((n) => pgServices.has(n));
      db.onChange((up) => {
        if (shutdown.aborted) return;
        for (const n of names) health.set(n, up ? ServingStatus.SERVING : ServingStatus.NOT_SERVING);
      });
    },
    close: () => db.close(),
  };
}
