import { create, toBinary } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { NodeSchema, NodeStatus, type AssignTaskRequest, type Node, type ReportStatusRequest } from "@switchboard/gen/node/v1/node_pb.js";
import type { PgDb, Queryable } from "../../db/pg-db.ts";
import { failedPrecondition } from "../master-rules.ts";
import { activeStatesSql, decodeNode } from "../store/postgres.ts";
import { isActive } from "../task-state.ts";
import type { ClusterContext } from "./cluster-context.ts";
import { channels, notify, notifyWorker } from "./notify.ts";
import { lockTasks, requeueOrFail } from "./task-changes.ts";

/**
 * A worker connected here: its node row points at this instance (an older
 * stream on another instance is told to end), and its active tasks are
 * reconciled with the ids it says it still has (`req.runningTaskIds`): the
 * ones it lost are re-queued. Returns the ids it has that are not its any
 * more (to stop).
 */
export async function attachWorker(x: ClusterContext, req: AssignTaskRequest): Promise<string[]> {
  const has = new Set(req.runningTaskIds);
  return x.db.tx(async (c) => {
    const prev = await c.query<{ instance_id: string | null }>("SELECT instance_id FROM nodes WHERE id = $1 FOR UPDATE", [req.workerId]);
    const now = timestampFromMs(Date.now());
    const node = create(NodeSchema, {
      id: req.workerId,
      labels: req.labels,
      status: NodeStatus.ONLINE,
      capacity: req.capacity,
      version: req.version,
      hostname: req.hostname,
      lastHeartbeat: now,
      connectedAt: now,
    });
    await c.query(
      `INSERT INTO nodes (id, data, instance_id, seen_at) VALUES ($1, $2, $3, now())
       ON CONFLICT (id) DO UPDATE SET data = excluded.data, instance_id = excluded.instance_id, seen_at = now()`,
      [req.workerId, toBinary(NodeSchema, node), x.id],
    );
    const prevInstance = prev.rows[0]?.instance_id;
    if (prevInstance && prevInstance !== x.id) await notifyWorker(c, { workerId: req.workerId, movedTo: x.id });
    for (const t of await activeTasksOf(c, req.workerId)) {
      if (!has.has(t.id)) await requeueOrFail(c, t, `worker ${req.workerId} reconnected without the task`, x.opts.taskRetries, x.log);
    }
    const ok = await ownedAmong(c, req.workerId, [...has]);
    return [...has].filter((id) => !ok.has(id));
  });
}

/** The worker's stream here ended: detach its node row (if still ours) and maybe re-queue its tasks. */
export async function detachWorker(x: ClusterContext, workerId: string, reason: string, requeue: boolean): Promise<void> {
  await x.db.tx(async (c) => {
    const r = await c.query<{ data: Uint8Array; instance_id: string | null }>(
      "SELECT data, instance_id FROM nodes WHERE id = $1 FOR UPDATE",
      [workerId],
    );
    // Reconnected to another instance meanwhile: that one owns it now.
    if (!r.rows[0] || r.rows[0].instance_id !== x.id) return;
    const node = decodeNode(r.rows[0].data);
    node.status = NodeStatus.OFFLINE;
    await c.query("UPDATE nodes SET data = $2, instance_id = NULL, seen_at = now() WHERE id = $1", [workerId, toBinary(NodeSchema, node)]);
    if (!requeue) return;
    for (const t of await activeTasksOf(c, workerId)) await requeueOrFail(c, t, reason, x.opts.taskRetries, x.log);
  });
}

/**
 * Records a heartbeat on the worker's node row (FAILED_PRECONDITION when
 * the worker is attached to no live instance); tasks it reports that are not
 * its own are cancelled through the worker channel. True when slots may have
 * been freed (the schedulers are woken too).
 */
export async function recordHeartbeat(x: ClusterContext, req: ReportStatusRequest): Promise<boolean> {
  return x.db.tx(async (c) => {
    const r = await c.query<{ data: Uint8Array; instance_id: string | null; alive: boolean }>(
      `SELECT n.data, n.instance_id, (i.id IS NOT NULL) AS alive FROM nodes n
       LEFT JOIN instances i ON i.id = n.instance_id AND i.expires_at > now()
       WHERE n.id = $1 FOR UPDATE OF n`,
      [req.workerId],
    );
    const row = r.rows[0];
    if (!row || !row.instance_id || !row.alive) {
      throw failedPrecondition(`worker ${req.workerId} is not connected: open AssignTask first`);
    }
    const node = decodeNode(row.data);
    const wasDraining = node.status === NodeStatus.DRAINING;
    const oldCapacity = node.capacity;
    node.lastHeartbeat = timestampFromMs(Date.now());
    node.load = req.load;
    if (req.version) node.version = req.version;
    if (req.capacity > 0) node.capacity = req.capacity;
    node.status = req.draining ? NodeStatus.DRAINING : NodeStatus.ONLINE;
    await c.query("UPDATE nodes SET data = $2, seen_at = now() WHERE id = $1", [req.workerId, toBinary(NodeSchema, node)]);
    if (req.draining !== wasDraining) x.log.info({ workerId: req.workerId, draining: req.draining }, "worker draining");
    if (req.runningTaskIds.length > 0) {
      const mine = await ownedAmong(c, req.workerId, req.runningTaskIds);
      for (const id of req.runningTaskIds) {
        if (!mine.has(id)) await notifyWorker(c, { workerId: req.workerId, cancel: id });
      }
    }
    const more = node.capacity > oldCapacity || (wasDraining && !req.draining);
    if (more) await notify(c, channels.wake);
    return more;
  });
}

function activeTasksOf(c: Queryable, workerId: string) {
  return lockTasks(c, `worker_id = $1 AND state IN (${activeStatesSql})`, [workerId]);
}

/** Which of `ids` are active tasks of `workerId`. */
async function ownedAmong(c: Queryable, workerId: string, ids: string[]): Promise<Set<string>> {
  const listed = await c.query<{ id: string; worker_id: string; state: number }>(
    "SELECT id, worker_id, state FROM tasks WHERE id = ANY($1)",
    [ids],
  );
  return new Set(listed.rows.filter((r) => r.worker_id === workerId && isActive(r.state)).map((r) => r.id));
}

/** Every node by id: OFFLINE unless attached to a live instance, with its active task ids. */
export async function listNodes(db: PgDb): Promise<Node[]> {
  const [nodes, running] = await Promise.all([
    db.query<{ data: Uint8Array; online: boolean }>(
      `SELECT n.data, (i.id IS NOT NULL) AS online FROM nodes n
       LEFT JOIN instances i ON i.id = n.instance_id AND i.expires_at > now()
       ORDER BY n.id`,
    ),
    db.query<{ id: string; worker_id: string }>(
      `SELECT id, worker_id FROM tasks WHERE state IN (${activeStatesSql}) ORDER BY seq`,
    ),
  ]);
  const byWorker = new Map<string, string[]>();
  for (const r of running.rows) byWorker.set(r.worker_id, [...(byWorker.get(r.worker_id) ?? []), r.id]);
  return nodes.rows.map((r) => {
    const n = decodeNode(r.data);
    if (!r.online) n.status = NodeStatus.OFFLINE;
    n.runningTaskIds = byWorker.get(n.id) ?? [];
    return n;
  });
}
