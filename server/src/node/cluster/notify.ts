import type { Queryable } from "../../db/pg-db.ts";

/** NOTIFY channels: wake-up signals only; the state is always read from tables. */
export const channels = {
  /** Something may be schedulable (submit, re-queue, a freed slot). */
  wake: "sb_wake",
  /** task_events has new rows. */
  events: "sb_events",
  /** A message for the instance holding a worker's stream (cancel, replaced). */
  worker: "sb_worker",
};

/** A message on the worker channel. */
export interface WorkerNote {
  workerId: string;
  /** Tell the worker to stop this task. */
  cancel?: string;
  /** The worker's stream moved to this instance: end ours without re-queueing. */
  movedTo?: string;
}

/** Sends a notification when the transaction commits. */
export async function notify(c: Queryable, channel: string, payload = ""): Promise<void> {
  await c.query("SELECT pg_notify($1, $2)", [channel, payload]);
}

export async function notifyWorker(c: Queryable, note: WorkerNote): Promise<void> {
  await notify(c, channels.worker, JSON.stringify(note));
}

/** A worker-channel payload, or undefined when it is not JSON. */
export function parseWorkerNote(payload: string): WorkerNote | undefined {
  try {
    return JSON.parse(payload) as WorkerNote;
  } catch {
    return undefined;
  }
}
