import { Code, ConnectError } from "@connectrpc/connect";
import type { Task, WatchTasksResponse } from "@switchboard/gen/node/v1/node_pb.js";
import { EventQueue } from "../event-queue.ts";
import { isFinal } from "./task-state.ts";

/** A registered WatchTasks stream: "" watches every task. */
export interface WatchEntry {
  readonly taskId: string;
  readonly queue: EventQueue<WatchTasksResponse>;
}

/**
 * The queue of a new WatchTasks stream. With `initial` it starts with the
 * snapshot and the snapshot_done marker (room for them comes on top of
 * `limit`, the changes it may fall behind).
 */
export function watchQueue(snapshot: Task[], initial: boolean, limit: number): EventQueue<WatchTasksResponse> {
  const max = limit + (initial ? snapshot.length + 1 : 0);
  const queue = new EventQueue<WatchTasksResponse>(
    max,
    () => new ConnectError(`watcher fell more than ${max} changes behind`, Code.ResourceExhausted),
  );
  if (initial) {
    for (const task of snapshot) queue.push({ task, sequence: 0n, snapshotDone: false } as WatchTasksResponse);
    queue.push({ sequence: 0n, snapshotDone: true } as WatchTasksResponse);
  }
  return queue;
}

/**
 * A watch of one task that has already finished: it gets the task (unless
 * the snapshot had it) and ends. False (nothing done) when `task` is not final.
 */
export function endIfFinal(queue: EventQueue<WatchTasksResponse>, task: Task, initial: boolean): boolean {
  if (!isFinal(task.state)) return false;
  if (!initial) queue.push({ task, sequence: 0n, snapshotDone: false } as WatchTasksResponse);
  queue.close();
  return true;
}

/**
 * Sends a change to a watcher. False when the watcher is done — it overflowed
 * or it watches this one task and the task finished — and its queue closed.
 */
export function deliver(w: WatchEntry, msg: WatchTasksResponse): boolean {
  if (!w.queue.push(msg) || (w.taskId !== "" && isFinal(msg.task!.state))) {
    w.queue.close();
    return false;
  }
  return true;
}
