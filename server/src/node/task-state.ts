import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { TaskState, type Task, type TaskResult } from "@switchboard/gen/node/v1/node_pb.js";

/**
 * The task life cycle as a table: from each state, the states it may move to.
 *
 *   QUEUED ──assign──▶ ASSIGNED ──start──▶ RUNNING ──▶ SUCCEEDED | FAILED | CANCELLED
 *     ▲                   │  │                │ │
 *     └──── re-queue ─────┘  └─▶ FAILED|SUCCEEDED (finished without a StartTask)
 *     └──────────────────── re-queue ─────────┘ └─▶ CANCELLED
 *   QUEUED ──cancel──▶ CANCELLED;  ASSIGNED ──cancel──▶ CANCELLED
 *
 * Final states (SUCCEEDED, FAILED, CANCELLED) never change again.
 */
export const transitions: ReadonlyMap<TaskState, readonly TaskState[]> = new Map([
  [TaskState.QUEUED, [TaskState.ASSIGNED, TaskState.CANCELLED, TaskState.FAILED]],
  [
    TaskState.ASSIGNED,
    [TaskState.RUNNING, TaskState.QUEUED, TaskState.SUCCEEDED, TaskState.FAILED, TaskState.CANCELLED],
  ],
  [TaskState.RUNNING, [TaskState.QUEUED, TaskState.SUCCEEDED, TaskState.FAILED, TaskState.CANCELLED]],
  [TaskState.SUCCEEDED, []],
  [TaskState.FAILED, []],
  [TaskState.CANCELLED, []],
]);

/** SUCCEEDED, FAILED and CANCELLED. */
export function isFinal(state: TaskState): boolean {
  return state === TaskState.SUCCEEDED || state === TaskState.FAILED || state === TaskState.CANCELLED;
}

/** ASSIGNED and RUNNING: the task occupies a slot of its worker. */
export function isActive(state: TaskState): boolean {
  return state === TaskState.ASSIGNED || state === TaskState.RUNNING;
}

export function canTransition(from: TaskState, to: TaskState): boolean {
  return transitions.get(from)?.includes(to) ?? false;
}

/** What changes together with the state. */
export interface TransitionPatch {
  /** New reason; unset keeps the old one on re-queue/assign/start, clears nothing. */
  reason?: string;
  /** Worker, on assign. */
  workerId?: string;
  /** Result of the run, on a final state reported by the worker. */
  result?: TaskResult;
}

/**
 * Moves `task` to state `to` in place and stamps the timestamps:
 * updated_at always; assigned_at (+ attempt + 1) on ASSIGNED; started_at on
 * RUNNING; finished_at on a final state. Throws on a transition the table
 * does not allow — callers check `canTransition` first, so a throw is a bug.
 */
export function applyTransition(task: Task, to: TaskState, nowMs: number, patch: TransitionPatch = {}): Task {
  if (!canTransition(task.state, to)) {
    throw new Error(`illegal task transition ${TaskState[task.state]} -> ${TaskState[to]} (task ${task.id})`);
  }
  const now = timestampFromMs(nowMs);
  task.state = to;
  task.updatedAt = now;
  if (patch.reason !== undefined) task.reason = patch.reason;
  switch (to) {
    case TaskState.ASSIGNED:
      task.workerId = patch.workerId ?? task.workerId;
      task.attempt += 1;
      task.assignedAt = now;
      task.startedAt = undefined;
      task.result = undefined;
      break;
    case TaskState.RUNNING:
      task.startedAt = now;
      break;
    case TaskState.QUEUED:
      break;
    default:
      task.finishedAt = now;
      if (patch.result !== undefined) task.result = patch.result;
  }
  return task;
}
