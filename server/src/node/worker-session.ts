import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import type { AssignTaskResponse, Task } from "@switchboard/gen/node/v1/node_pb.js";
import { EventQueue } from "../event-queue.ts";

/**
 * The queue of a new AssignTask stream, its first message (`registered`,
 * with the worker timeout) already in it. At `limit` unread messages the
 * stream ends with RESOURCE_EXHAUSTED.
 */
export function workerQueue(limit: number, workerTimeoutMs: number): EventQueue<AssignTaskResponse> {
  const queue = new EventQueue<AssignTaskResponse>(
    limit,
    () => new ConnectError("worker fell too far behind", Code.ResourceExhausted),
  );
  queue.push({
    action: { case: "registered", value: { workerTimeout: durationFromMs(workerTimeoutMs) } },
  } as AssignTaskResponse);
  return queue;
}

/** The error an older stream of a worker ends with when the worker connects again. */
export const replaced = () => new ConnectError("replaced by a newer connection of the same worker", Code.Aborted);

/** Tells the worker to run `task`. */
export function sendTask(queue: EventQueue<AssignTaskResponse>, task: Task): void {
  queue.push({ action: { case: "task", value: task } } as AssignTaskResponse);
}

/** Tells the worker to stop task `taskId`. */
export function sendCancel(queue: EventQueue<AssignTaskResponse>, taskId: string): void {
  queue.push({ action: { case: "cancelTaskId", value: taskId } } as AssignTaskResponse);
}
