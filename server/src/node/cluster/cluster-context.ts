import type { PgDb } from "../../db/pg-db.ts";
import type { Logger } from "../../logger.ts";
import type { MasterLimits } from "../master-rules.ts";
import type { WorkerSession } from "../task-master.ts";

/** Options of the cluster master. */
export interface ClusterMasterOptions extends MasterLimits {
  /** How long this instance's liveness row lasts without a refresh, ms. Default 5000. */
  instanceTtlMs?: number;
  /** task_events kept for resuming watches (the newest this many). Default 1 000 000. */
  eventRetention?: number;
  /**
   * Period of the fallback poll (scheduling, watchers, liveness, reaping) for
   * notifications that were missed, ms. Default a quarter of the worker
   * timeout, at most 1000.
   */
  pollMs?: number;
}

/** What the parts of the cluster master share: the database, this instance's id, logger and options. */
export interface ClusterContext {
  readonly db: PgDb;
  /** This instance (its row in `instances`). */
  readonly id: string;
  readonly log: Logger;
  readonly opts: Required<ClusterMasterOptions>;
}

/** A worker's AssignTask stream attached to this instance. */
export interface ClusterSession extends WorkerSession {
  ended: boolean;
  lastAssigned: number;
}
