import { readFileSync } from "node:fs";
import type { Client } from "@connectrpc/connect";
import { NodeService, TaskState, type Task } from "@switchboard/gen/node/v1/node_pb.js";

const finalStates = [TaskState.SUCCEEDED, TaskState.FAILED, TaskState.CANCELLED];

/**
 * Watches one task (WatchTasks with task_id) until it reaches a final state
 * and returns it with every state it went through — event-driven, no polling.
 */
export async function watchToEnd(
  client: Client<typeof NodeService>,
  taskId: string,
  timeoutMs = 60_000,
): Promise<{ task: Task; states: TaskState[] }> {
  const states: TaskState[] = [];
  let last: Task | undefined;
  await withDeadline(timeoutMs, async (signal) => {
    for await (const msg of client.watchTasks({ taskId, sendInitial: true }, { signal })) {
      if (!msg.task) continue;
      last = msg.task;
      states.push(msg.task.state);
      if (finalStates.includes(msg.task.state)) break;
    }
  });
  if (!last) throw new Error(`no update for task ${taskId}`);
  return { task: last, states };
}

/** Waits (watching) until the task is in `state`; returns it. */
export async function watchUntil(
  client: Client<typeof NodeService>,
  taskId: string,
  state: TaskState,
  timeoutMs = 60_000,
): Promise<Task> {
  return withDeadline(timeoutMs, async (signal) => {
    for await (const msg of client.watchTasks({ taskId, sendInitial: true }, { signal })) {
      if (msg.task?.state === state) return msg.task;
      if (msg.task && finalStates.includes(msg.task.state)) {
        throw new Error(`task ${taskId} ended ${TaskState[msg.task.state]} (${msg.task.reason}) before ${TaskState[state]}`);
      }
    }
    throw new Error(`watch of ${taskId} ended before ${TaskState[state]}`);
  });
}

/**
 * Runs `fn` with a signal that aborts after `timeoutMs`, and always clears the
 * timer (a call's own `timeoutMs` deadline would keep the test process alive
 * when a stream is left early with `break`).
 */
async function withDeadline<T>(timeoutMs: number, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(new Error(`no result within ${timeoutMs}ms`)), timeoutMs);
  try {
    return await fn(ac.signal);
  } finally {
    clearTimeout(timer);
    ac.abort();
  }
}

/** True when no live process has this pid (gone, or a zombie nobody reaped yet). */
export function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
  } catch {
    return true;
  }
}
