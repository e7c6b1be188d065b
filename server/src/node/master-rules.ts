import { randomUUID } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { TaskSchema, TaskState, type SubmitTaskRequest, type Task } from "@switchboard/gen/node/v1/node_pb.js";
import { isActive } from "./task-state.ts";
import type { TaskTrace } from "./task-master.ts";

/** Options both masters share. */
export interface MasterLimits {
  /** A worker without a heartbeat for this long is lost (`--worker-timeout`). */
  workerTimeoutMs: number;
  /** Re-queues after a lost worker or a give-back before a task FAILED (`--task-retries`). */
  taskRetries: number;
  /** Messages a watcher may fall behind before it is ended. Default 10 000. */
  watchQueueLimit?: number;
  /** Messages a worker stream may fall behind before it is ended. Default 10 000. */
  workerQueueLimit?: number;
}

/** The defaults of the optional MasterLimits. */
export const limitDefaults = { watchQueueLimit: 10_000, workerQueueLimit: 10_000 } as const;

/** Period of the liveness checks: a quarter of the worker timeout, at least 20 ms, at most 1 s. */
export function checkEveryMs(workerTimeoutMs: number): number {
  return Math.max(20, Math.min(1000, Math.floor(workerTimeoutMs / 4)));
}

export const failedPrecondition = (msg: string) => new ConnectError(msg, Code.FailedPrecondition);

/** The error streams end with when the server stops. */
export const shuttingDown = () => new ConnectError("server is shutting down", Code.Unavailable);

/** A new QUEUED task from a SubmitTask request; `trace`: the W3C context of the submitting call. */
export function newTask(req: SubmitTaskRequest, nowMs: number, trace?: TaskTrace): Task {
  return create(TaskSchema, {
    id: randomUUID(),
    command: req.command,
    timeout: req.timeout,
    labels: req.labels,
    traceparent: trace?.traceparent ?? "",
    tracestate: trace?.tracestate ?? "",
    state: TaskState.QUEUED,
    createdAt: timestampFromMs(nowMs),
    updatedAt: timestampFromMs(nowMs),
  });
}

/** Cancel of a task that is not there (undefined) or already final: NOT_FOUND or FAILED_PRECONDITION. */
export function cannotCancel(id: string, done: Task | undefined): ConnectError {
  if (!done) return new ConnectError(`task ${id} not found`, Code.NotFound);
  return failedPrecondition(`task ${id} already finished (${TaskState[done.state]})`);
}

/** The states a worker may report in FinishTask; INVALID_ARGUMENT otherwise. */
export function checkFinishState(state: TaskState): void {
  const allowed = [TaskState.SUCCEEDED, TaskState.FAILED, TaskState.CANCELLED, TaskState.QUEUED];
  if (!allowed.includes(state)) {
    throw new ConnectError("state must be SUCCEEDED, FAILED, CANCELLED or QUEUED", Code.InvalidArgument);
  }
}

/** The task if it is assigned to `workerId` at `attempt` and active; FAILED_PRECONDITION otherwise. */
export function mine(t: Task | undefined, workerId: string, taskId: string, attempt: number): Task {
  if (!t || t.workerId !== workerId || t.attempt !== attempt || !isActive(t.state)) {
    throw failedPrecondition(`task ${taskId} attempt ${attempt} is not assigned to worker ${workerId}`);
  }
  return t;
}

/** At-least-once: back to QUEUED, or FAILED once the task used its retries. */
export function requeueOutcome(t: Task, reason: string, taskRetries: number): { to: TaskState; reason: string } {
  return t.attempt > taskRetries
    ? { to: TaskState.FAILED, reason: `${reason}; gave up after ${t.attempt} attempts` }
    : { to: TaskState.QUEUED, reason };
}
