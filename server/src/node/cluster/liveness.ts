import type { ClusterContext } from "./cluster-context.ts";
import { activeStatesSql } from "../store/postgres.ts";
import { lockTasks, requeueOrFail } from "./task-changes.ts";

/** Refreshes this instance's liveness row. */
export async function beat(x: ClusterContext): Promise<void> {
  await x.db.query(
    `INSERT INTO instances (id, expires_at) VALUES ($1, now() + $2 * interval '1 millisecond')
     ON CONFLICT (id) DO UPDATE SET expires_at = excluded.expires_at`,
    [x.id, x.opts.instanceTtlMs],
  );
}

/** After a database outage: the node rows of `workerIds` (streams still open here) point at this instance again. */
export async function reattach(x: ClusterContext, workerIds: string[]): Promise<void> {
  await x.db.query(
    "UPDATE nodes SET instance_id = $1, seen_at = now() WHERE id = ANY($2) AND (instance_id IS NULL OR instance_id = $1)",
    [x.id, workerIds],
  );
}

/** Workers attached here whose last heartbeat (to any instance) is older than the worker timeout. */
export async function silentWorkers(x: ClusterContext): Promise<string[]> {
  const r = await x.db.query<{ id: string }>(
    "SELECT id FROM nodes WHERE instance_id = $1 AND seen_at < now() - $2 * interval '1 millisecond'",
    [x.id, x.opts.workerTimeoutMs],
  );
  return r.rows.map((row) => row.id);
}

/**
 * Any instance: re-queues the tasks of workers that are attached to no live
 * instance and were not heard of for the worker timeout (their instance
 * died, or they went away during a shutdown). Row locks make this happen
 * once: a concurrent reaper skips locked rows, and a committed re-queue no
 * longer matches. Then drops old task_events (see prune).
 */
export async function reap(x: ClusterContext): Promise<void> {
  const limit = x.opts.workerTimeoutMs;
  await x.db.tx(async (c) => {
    await c.query(
      `UPDATE nodes SET instance_id = NULL WHERE instance_id IS NOT NULL AND NOT EXISTS
         (SELECT 1 FROM instances i WHERE i.id = nodes.instance_id AND i.expires_at > now())`,
    );
    const lost = await lockTasks(
      c,
      `state IN (${activeStatesSql}) AND NOT EXISTS (
         SELECT 1 FROM nodes n WHERE n.id = tasks.worker_id
           AND (n.instance_id IS NOT NULL OR n.seen_at >= now() - $1 * interval '1 millisecond'))`,
      [limit],
      "ORDER BY seq FOR UPDATE SKIP LOCKED",
    );
    for (const t of lost) {
      await requeueOrFail(c, t, `worker ${t.workerId} did not come back within ${limit}ms`, x.opts.taskRetries, x.log);
    }
    await c.query("DELETE FROM instances WHERE expires_at < now() - interval '1 hour'");
  });
  await prune(x);
}

/** Drops the oldest task_events beyond the retention and records up to where. */
async function prune(x: ClusterContext): Promise<void> {
  const r = await x.db.query<{ seq: string | null }>("SELECT max(seq) AS seq FROM task_events");
  const below = BigInt(r.rows[0]?.seq ?? "0") - BigInt(x.opts.eventRetention) + 1n;
  if (below <= 1n) return;
  await x.db.tx(async (c) => {
    const pruned = await c.query(
      `INSERT INTO meta (key, value) VALUES ('task_events_pruned_below', $1)
       ON CONFLICT (key) DO UPDATE SET value = excluded.value WHERE meta.value::bigint < excluded.value::bigint`,
      [below.toString()],
    );
    if (pruned.rowCount === 1) await c.query("DELETE FROM task_events WHERE seq < $1", [below.toString()]);
  });
}

/** Ends this instance's claim on its workers and its liveness row (a clean shutdown). */
export async function deregister(x: ClusterContext): Promise<void> {
  await x.db.query("UPDATE nodes SET instance_id = NULL, seen_at = now() WHERE instance_id = $1", [x.id]);
  await x.db.query("DELETE FROM instances WHERE id = $1", [x.id]);
}
