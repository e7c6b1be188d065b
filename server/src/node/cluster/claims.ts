import { clone } from "@bufbuild/protobuf";
import { NodeStatus, TaskSchema, TaskState, type Task } from "@switchboard/gen/node/v1/node_pb.js";
import { pickWorker, type Candidate } from "../scheduler.ts";
import { activeStatesSql, decodeNode } from "../store/postgres.ts";
import { sendTask } from "../worker-session.ts";
import type { ClusterContext, ClusterSession } from "./cluster-context.ts";
import { change, lockTasks } from "./task-changes.ts";

type SessionCandidate = Candidate & { session: ClusterSession };

/**
 * Claims queued tasks, oldest first, that match a free worker attached to
 * this instance, and assigns them (attempt + 1). Only this instance assigns
 * to its workers, so their free slots are counted here without a race; the
 * claim itself (`FOR UPDATE SKIP LOCKED`) is safe against every instance.
 * `nextAssignment` numbers the assignments (see Candidate.lastAssigned).
 * Returns true when it filled its batch (there may be more).
 */
export async function claimQueued(
  x: ClusterContext,
  sessions: ReadonlyMap<string, ClusterSession>,
  nextAssignment: () => number,
): Promise<boolean> {
  const live = [...sessions.values()].filter((s) => !s.ended);
  if (live.length === 0) return false;
  const ids = live.map((s) => s.workerId);
  const assigned: Array<{ session: ClusterSession; task: Task }> = [];
  const claimed = await x.db.tx(async (c) => {
    const nodes = await c.query<{ id: string; data: Uint8Array }>(
      "SELECT id, data FROM nodes WHERE id = ANY($1) AND instance_id = $2",
      [ids, x.id],
    );
    const busy = await c.query<{ worker_id: string; n: number }>(
      `SELECT worker_id, count(*)::int AS n FROM tasks WHERE state IN (${activeStatesSql}) AND worker_id = ANY($1) GROUP BY worker_id`,
      [ids],
    );
    const busyOf = new Map(busy.rows.map((r) => [r.worker_id, r.n]));
    const candidates: SessionCandidate[] = [];
    for (const row of nodes.rows) {
      const session = sessions.get(row.id);
      if (!session || session.ended) continue;
      const n = decodeNode(row.data);
      candidates.push({
        id: n.id,
        labels: n.labels,
        capacity: n.capacity,
        busy: busyOf.get(n.id) ?? 0,
        draining: n.status === NodeStatus.DRAINING,
        lastAssigned: session.lastAssigned,
        session,
      });
    }
    const open = candidates.filter((o) => !o.draining && o.busy < o.capacity);
    const free = open.reduce((sum, o) => sum + o.capacity - o.busy, 0);
    if (free === 0) return 0;
    const queued = await lockTasks(
      c,
      `state = ${TaskState.QUEUED} AND EXISTS (SELECT 1 FROM jsonb_array_elements($1::jsonb) w WHERE tasks.labels <@ w.value)`,
      [JSON.stringify(open.map((o) => o.labels))],
      `ORDER BY seq LIMIT ${free} FOR UPDATE SKIP LOCKED`,
    );
    for (const t of queued) {
      const pick = pickWorker(t.labels, candidates) as SessionCandidate | undefined;
      if (!pick) continue;
      await change(c, t, TaskState.ASSIGNED, { workerId: pick.id });
      pick.busy++;
      pick.lastAssigned = pick.session.lastAssigned = nextAssignment();
      assigned.push({ session: pick.session, task: clone(TaskSchema, t) });
    }
    return queued.length === free ? queued.length : 0;
  });
  for (const { session, task } of assigned) {
    // A stream that ended meanwhile: its task is re-queued by the disconnect
    // or, if that raced past it, by the reaper after the worker timeout.
    if (!session.ended) sendTask(session.queue, task);
  }
  return claimed > 0;
}
