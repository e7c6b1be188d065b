import { clone } from "@bufbuild/protobuf";
import { TaskSchema, TaskState, type Task } from "@switchboard/gen/node/v1/node_pb.js";
import type { Logger } from "../../logger.ts";
import { requeueOutcome } from "../master-rules.ts";
import { applyTransition, isActive, isFinal, type TransitionPatch } from "../task-state.ts";
import type { SyncTaskStore, TaskFilter, TaskPage } from "../task-store.ts";
import type { TaskWatchers } from "./task-watchers.ts";

/** What a TaskBook needs. */
export interface TaskBookOptions {
  store: SyncTaskStore;
  watchers: TaskWatchers;
  logger: Logger;
  /** Re-queues before a task FAILED (`--task-retries`). */
  taskRetries: number;
  now: () => number;
}

/**
 * The embedded master's tasks: every task in the store, the unfinished ones
 * also in memory (the current copy). Each change is applied in memory,
 * written to the store (undone in memory if the write fails) and announced
 * to the watchers, synchronously.
 */
export class TaskBook {
  readonly #o: TaskBookOptions;
  /** Unfinished tasks in submission order (re-queued ones keep their place). */
  readonly #unfinished = new Map<string, Task>();

  constructor(options: TaskBookOptions) {
    this.#o = options;
    for (const t of options.store.unfinished()) this.#unfinished.set(t.id, t);
  }

  /** The unfinished tasks, in submission order (the live objects: change them only through `change`). */
  get unfinished(): ReadonlyMap<string, Task> {
    return this.#unfinished;
  }

  /** Stores and announces a new task. */
  add(task: Task): void {
    this.#o.store.insert(task);
    this.#unfinished.set(task.id, task);
    this.#o.watchers.emit(task);
  }

  /** A copy of the task, from memory if unfinished, else from the store. */
  get(id: string): Task | undefined {
    const t = this.#unfinished.get(id);
    return t ? clone(TaskSchema, t) : this.#o.store.get(id);
  }

  /** The finished copy in the store (for a task no longer in memory). */
  stored(id: string): Task | undefined {
    return this.#o.store.get(id);
  }

  list(filter: TaskFilter): TaskPage {
    const page = this.#o.store.list(filter);
    // Unfinished tasks: the in-memory copy is the current one.
    page.tasks = page.tasks.map((t) => (this.#unfinished.has(t.id) ? clone(TaskSchema, this.#unfinished.get(t.id)!) : t));
    return page;
  }

  /** Writes a change that is not a state change (a result arriving after a cancel). */
  update(t: Task): void {
    this.#o.store.update(t);
  }

  /** One state change: memory, store (undone in memory if the write fails), watchers. */
  change(t: Task, to: TaskState, patch: TransitionPatch = {}): void {
    const before = clone(TaskSchema, t);
    applyTransition(t, to, this.#o.now(), patch);
    try {
      this.#o.store.update(t);
    } catch (err) {
      Object.assign(t, before);
      throw err;
    }
    if (isFinal(to)) this.#unfinished.delete(t.id);
    this.#o.watchers.emit(t);
  }

  /** At-least-once: back to QUEUED, or FAILED once the task used its retries. */
  requeueOrFail(t: Task, reason: string): void {
    const out = requeueOutcome(t, reason, this.#o.taskRetries);
    this.change(t, out.to, { reason: out.reason });
    this.#o.logger.info({ taskId: t.id, attempt: t.attempt, state: TaskState[t.state], reason }, "task re-queued or failed");
  }

  /** Re-queues (or fails) every active task of a worker that is gone. */
  loseWorker(workerId: string, reason: string): void {
    for (const t of [...this.#unfinished.values()]) {
      if (t.workerId === workerId && isActive(t.state)) this.requeueOrFail(t, reason);
    }
  }

  /** Ids of the active tasks, by worker. */
  runningByWorker(): Map<string, string[]> {
    const running = new Map<string, string[]>();
    for (const t of this.#unfinished.values()) {
      if (isActive(t.state)) running.set(t.workerId, [...(running.get(t.workerId) ?? []), t.id]);
    }
    return running;
  }
}
