import { toBinary } from "@bufbuild/protobuf";
import { TaskSchema, TaskState, type Task } from "@switchboard/gen/node/v1/node_pb.js";
import type { Queryable } from "../../db/pg-db.ts";
import type { Logger } from "../../logger.ts";
import { cannotCancel, requeueOutcome } from "../master-rules.ts";
import { decodeTask, updateTask } from "../store/postgres.ts";
import { applyTransition, isActive, isFinal, type TransitionPatch } from "../task-state.ts";
import { channels, notify, notifyWorker } from "./notify.ts";

/** Advisory lock every writer of task_events takes first: events commit in seq order. */
const eventLock = 0x5b_0002;

/** Task rows matching `where`, locked until the transaction ends. */
export async function lockTasks(c: Queryable, where: string, params: unknown[], tail = "ORDER BY seq FOR UPDATE"): Promise<Task[]> {
  const r = await c.query<{ data: Uint8Array }>(`SELECT data FROM tasks WHERE ${where} ${tail}`, params);
  return r.rows.map((row) => decodeTask(row.data));
}

export async function lockTask(c: Queryable, id: string): Promise<Task | undefined> {
  return (await lockTasks(c, "id = $1", [id]))[0];
}

/**
 * Appends the task's change to task_events. The advisory lock (held until
 * commit) makes events commit in sequence order, so a reader that has seen
 * sequence N has seen everything below N. Take every row lock first.
 */
export async function appendEvent(c: Queryable, t: Task): Promise<void> {
  await c.query("SELECT pg_advisory_xact_lock($1)", [eventLock]);
  await c.query("INSERT INTO task_events (task_id, data) VALUES ($1, $2)", [t.id, toBinary(TaskSchema, t)]);
  await notify(c, channels.events);
}

/** One state change inside a transaction that holds the task's row lock. */
export async function change(c: Queryable, t: Task, to: TaskState, patch: TransitionPatch = {}): Promise<void> {
  applyTransition(t, to, Date.now(), patch);
  await updateTask(c, t);
  await appendEvent(c, t);
}

/** At-least-once: back to QUEUED (and wake the schedulers), or FAILED once the task used its retries. */
export async function requeueOrFail(c: Queryable, t: Task, reason: string, taskRetries: number, log: Logger): Promise<void> {
  const out = requeueOutcome(t, reason, taskRetries);
  await change(c, t, out.to, { reason: out.reason });
  if (out.to === TaskState.QUEUED) await notify(c, channels.wake);
  log.info({ taskId: t.id, attempt: t.attempt, state: TaskState[t.state], reason }, "task re-queued or failed");
}

/** A user's cancel: CANCELLED, and the worker running it (if any) is told to stop. */
export async function cancelTask(c: Queryable, id: string, reason: string): Promise<Task> {
  const t = await lockTask(c, id);
  if (!t || isFinal(t.state)) throw cannotCancel(id, t);
  const wasActive = isActive(t.state);
  await change(c, t, TaskState.CANCELLED, { reason: reason || "cancelled by a user" });
  if (wasActive) {
    await notifyWorker(c, { workerId: t.workerId, cancel: id });
    await notify(c, channels.wake);
  }
  return t;
}
