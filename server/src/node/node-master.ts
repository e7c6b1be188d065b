import { clone } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  TaskSchema,
  TaskState,
  type AssignTaskRequest,
  type FinishTaskRequest,
  type Node,
  type ReportStatusRequest,
  type SubmitTaskRequest,
  type Task,
} from "@switchboard/gen/node/v1/node_pb.js";
import type { Logger } from "../logger.ts";
import { Dispatcher } from "./embedded/dispatcher.ts";
import { TaskBook } from "./embedded/task-book.ts";
import { TaskWatchers } from "./embedded/task-watchers.ts";
import { WorkerRegistry, type Session } from "./embedded/worker-registry.ts";
import {
  cannotCancel,
  checkEveryMs,
  checkFinishState,
  failedPrecondition,
  limitDefaults,
  mine,
  newTask,
  shuttingDown,
  type MasterLimits,
} from "./master-rules.ts";
import { isActive } from "./task-state.ts";
import type { SyncTaskStore, TaskFilter, TaskPage } from "./task-store.ts";
import type { TaskMaster, TaskTrace, Watcher, WorkerSession } from "./task-master.ts";

/** Options of the master. */
export interface MasterOptions extends MasterLimits {
  /** Clock, for tests. Default Date.now. */
  now?: () => number;
}

export type { Session, Watcher };

/**
 * The master's state machine: tasks (persisted in a TaskStore; the
 * unfinished ones also in memory: embedded/task-book.ts), connected workers
 * (embedded/worker-registry.ts), watchers (embedded/task-watchers.ts) and
 * scheduling (embedded/dispatcher.ts). Every method is synchronous, so each
 * RPC's effect — store write, watcher events, scheduling — happens as one
 * step that no other call interleaves with.
 */
export class NodeMaster implements TaskMaster {
  readonly #log: Logger;
  readonly #opts: Required<MasterOptions>;
  readonly #watchers: TaskWatchers;
  readonly #tasks: TaskBook;
  readonly #workers: WorkerRegistry;
  readonly #dispatcher: Dispatcher;
  readonly #startedMs: number;
  #sweeper: NodeJS.Timeout | undefined;

  constructor(store: SyncTaskStore, logger: Logger, options: MasterOptions) {
    this.#log = logger;
    this.#opts = { ...limitDefaults, now: Date.now, ...options };
    const { now } = this.#opts;
    this.#startedMs = now();
    this.#watchers = new TaskWatchers(this.#opts.watchQueueLimit);
    this.#tasks = new TaskBook({ store, watchers: this.#watchers, logger, taskRetries: this.#opts.taskRetries, now });
    this.#workers = new WorkerRegistry({
      store,
      logger,
      workerTimeoutMs: this.#opts.workerTimeoutMs,
      workerQueueLimit: this.#opts.workerQueueLimit,
      now,
    });
    this.#dispatcher = new Dispatcher(this.#tasks, this.#workers.sessions);
    const unfinished = this.#tasks.unfinished.size;
    if (unfinished > 0) this.#log.info({ unfinished }, "node master: recovered unfinished tasks");
  }

  /** Starts the heartbeat sweeper (every quarter of the worker timeout, at most 1 s). */
  startSweeper(): void {
    this.#sweeper = setInterval(() => this.sweep(), checkEveryMs(this.#opts.workerTimeoutMs));
    this.#sweeper.unref();
  }

  get workerTimeoutMs(): number {
    return this.#opts.workerTimeoutMs;
  }

  // ─── users ────────────────────────────────────────────────────────────

  /** `trace`: the W3C context of the submitting call, carried to the worker. */
  submit(req: SubmitTaskRequest, trace?: TaskTrace): Task {
    const task = newTask(req, this.#opts.now(), trace);
    this.#tasks.add(task);
    this.#dispatcher.run();
    return clone(TaskSchema, task);
  }

  get(id: string): Task | undefined {
    return this.#tasks.get(id);
  }

  list(filter: TaskFilter): TaskPage {
    return this.#tasks.list(filter);
  }

  cancel(id: string, reason: string): Task {
    const task = this.#tasks.unfinished.get(id);
    if (!task) throw cannotCancel(id, this.#tasks.stored(id));
    const workerId = task.workerId;
    const wasActive = isActive(task.state);
    this.#tasks.change(task, TaskState.CANCELLED, { reason: reason || "cancelled by a user" });
    if (wasActive) {
      const s = this.#workers.sessions.get(workerId);
      if (s) this.#workers.cancelOn(s, id);
    }
    this.#dispatcher.run();
    return clone(TaskSchema, task);
  }

  /**
   * Registers a watcher. Its queue starts with the snapshot (when asked) and
   * the snapshot_done marker; events follow with nothing missed, since both
   * happen in this one synchronous step.
   */
  watch(taskId: string, sendInitial: boolean, afterSequence = 0n): Watcher {
    if (afterSequence !== 0n) {
      // Sequences of the embedded master count this process's changes and are not kept.
      throw failedPrecondition("after_sequence needs cluster mode (--postgres): the embedded master keeps no change history");
    }
    let snapshot: Task[] = [];
    if (taskId !== "") {
      const t = this.get(taskId);
      if (!t) throw new ConnectError(`task ${taskId} not found`, Code.NotFound);
      snapshot = [t];
    } else if (sendInitial) {
      snapshot = [...this.#tasks.unfinished.values()].map((t) => clone(TaskSchema, t));
    }
    return this.#watchers.add(taskId, sendInitial, snapshot);
  }

  nodes(): Node[] {
    return this.#workers.nodes(this.#tasks.runningByWorker());
  }

  // ─── workers ──────────────────────────────────────────────────────────

  /** A worker opened AssignTask. The first queued message is `registered`. */
  connect(req: AssignTaskRequest): Session {
    const s = this.#workers.open(req);
    // Reconcile with what the worker says it still has.
    const has = new Set(req.runningTaskIds);
    for (const t of [...this.#tasks.unfinished.values()]) {
      if (t.workerId === s.workerId && isActive(t.state) && !has.has(t.id)) {
        this.#tasks.requeueOrFail(t, `worker ${s.workerId} reconnected without the task`);
      }
    }
    for (const id of has) {
      // Not the worker's any more: stop it; its slot is busy until it stops.
      if (!this.#owns(s.workerId, id)) this.#workers.cancelOn(s, id);
    }
    this.#dispatcher.run();
    return s;
  }

  /**
   * The AssignTask stream of `s` ended. Its tasks are re-queued, unless
   * `requeue` is false (the server is shutting down: they wait for the
   * worker to come back to the next master).
   */
  disconnect(ws: WorkerSession, reason: string, requeue: boolean): void {
    const s = ws as Session;
    if (!this.#workers.close(s, reason)) return;
    if (requeue) this.#tasks.loseWorker(s.workerId, reason);
    this.#dispatcher.run();
  }

  heartbeat(req: ReportStatusRequest): void {
    if (this.#workers.heartbeat(req, (w, id) => this.#owns(w, id))) this.#dispatcher.run();
  }

  start(workerId: string, taskId: string, attempt: number): void {
    const t = mine(this.#tasks.unfinished.get(taskId), workerId, taskId, attempt);
    if (t.state === TaskState.ASSIGNED) this.#tasks.change(t, TaskState.RUNNING);
  }

  finish(req: FinishTaskRequest): void {
    checkFinishState(req.state);
    const s = this.#workers.sessions.get(req.workerId);
    if (s?.pendingCancel.delete(req.taskId)) {
      // A cancelled task stopped: keep its result (not a state change).
      const t = this.#tasks.stored(req.taskId);
      if (t && t.workerId === req.workerId && t.attempt === req.attempt && !t.result && req.result) {
        t.result = req.result;
        this.#tasks.update(t);
      }
      this.#dispatcher.run();
      return;
    }
    const t = mine(this.#tasks.unfinished.get(req.taskId), req.workerId, req.taskId, req.attempt);
    if (req.state === TaskState.QUEUED) {
      this.#tasks.requeueOrFail(t, req.reason || `given back by worker ${req.workerId}`);
    } else {
      // An empty reason (success) keeps the last re-queue reason visible.
      this.#tasks.change(t, req.state, { reason: req.reason || undefined, result: req.result });
    }
    this.#dispatcher.run();
  }

  /** Ends sessions without heartbeats and re-queues tasks of workers gone for a worker timeout. */
  sweep(): void {
    const now = this.#opts.now();
    const limit = this.#opts.workerTimeoutMs;
    for (const s of [...this.#workers.sessions.values()]) {
      if (now - s.lastHeartbeatMs > limit) {
        const reason = `worker ${s.workerId} missed heartbeats for ${limit}ms`;
        s.queue.close(new ConnectError(reason, Code.Unavailable));
        this.disconnect(s, reason, true);
      }
    }
    // Tasks left assigned to workers that are not connected (after a master
    // restart): re-queued once the workers had a worker timeout to come back.
    if (now - this.#startedMs > limit) {
      const gone = new Set<string>();
      for (const t of this.#tasks.unfinished.values()) {
        if (isActive(t.state) && !this.#workers.sessions.has(t.workerId)) gone.add(t.workerId);
      }
      for (const w of gone) this.#tasks.loseWorker(w, `worker ${w} did not come back within ${limit}ms`);
      if (gone.size > 0) this.#dispatcher.run();
    }
  }

  /** Stops the sweeper and ends every stream (the store is closed by the module). */
  close(): void {
    clearInterval(this.#sweeper);
    this.#watchers.close(shuttingDown);
    this.#workers.closeAll(shuttingDown);
  }

  /** Whether `taskId` is an active task of `workerId`. */
  #owns(workerId: string, taskId: string): boolean {
    const t = this.#tasks.unfinished.get(taskId);
    return t !== undefined && t.workerId === workerId && isActive(t.state);
  }
}
