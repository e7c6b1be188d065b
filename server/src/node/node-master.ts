import { randomUUID } from "node:crypto";
import { clone, create } from "@bufbuild/protobuf";
import { durationFromMs, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  NodeSchema,
  NodeStatus,
  TaskSchema,
  TaskState,
  type AssignTaskRequest,
  type AssignTaskResponse,
  type FinishTaskRequest,
  type Node,
  type ReportStatusRequest,
  type SubmitTaskRequest,
  type Task,
  type WatchTasksResponse,
} from "../../../gen/node/v1/node_pb.js";
import type { Logger } from "../logger.ts";
import { EventQueue } from "../event-queue.ts";
import { pickWorker, type Candidate } from "./scheduler.ts";
import { applyTransition, isActive, isFinal, type TransitionPatch } from "./task-state.ts";
import type { SyncTaskStore, TaskPage } from "./task-store.ts";
import type { TaskMaster, TaskTrace, Watcher, WorkerSession } from "./task-master.ts";

/** Options of the master. */
export interface MasterOptions {
  /** A worker without a heartbeat for this long is lost (`--worker-timeout`). */
  workerTimeoutMs: number;
  /** Re-queues after a lost worker or a give-back before a task FAILED (`--task-retries`). */
  taskRetries: number;
  /** Messages a watcher may fall behind before it is ended. Default 10 000. */
  watchQueueLimit?: number;
  /** Messages a worker stream may fall behind before it is ended. Default 10 000. */
  workerQueueLimit?: number;
  /** Clock, for tests. Default Date.now. */
  now?: () => number;
}

/** One connected worker (one open AssignTask stream). */
export interface Session {
  readonly workerId: string;
  readonly queue: EventQueue<AssignTaskResponse>;
  labels: Record<string, string>;
  capacity: number;
  version: string;
  hostname: string;
  load: number;
  draining: boolean;
  connectedAtMs: number;
  lastHeartbeatMs: number;
  /** Number of its last assignment (see Candidate.lastAssigned). */
  lastAssigned: number;
  /** Tasks cancelled while on this worker whose stop it has not confirmed: they still hold a slot. */
  pendingCancel: Set<string>;
  ended: boolean;
}

export type { Watcher };

const failedPrecondition = (msg: string) => new ConnectError(msg, Code.FailedPrecondition);

/**
 * The master's state machine: tasks (persisted in a TaskStore; the
 * unfinished ones also in memory), connected workers, watchers. Every method
 * is synchronous, so each RPC's effect — store write, watcher events,
 * scheduling — happens as one step that no other call interleaves with.
 */
export class NodeMaster implements TaskMaster {
  readonly #store: SyncTaskStore;
  readonly #log: Logger;
  readonly #opts: Required<MasterOptions>;
  /** Unfinished tasks in submission order (re-queued ones keep their place). */
  readonly #unfinished = new Map<string, Task>();
  readonly #sessions = new Map<string, Session>();
  readonly #nodes = new Map<string, Node>();
  readonly #watchers = new Set<{ taskId: string; queue: EventQueue<WatchTasksResponse> }>();
  readonly #startedMs: number;
  #sequence = 0n;
  #assignments = 0;
  #sweeper: NodeJS.Timeout | undefined;

  constructor(store: SyncTaskStore, logger: Logger, options: MasterOptions) {
    this.#store = store;
    this.#log = logger;
    this.#opts = { watchQueueLimit: 10_000, workerQueueLimit: 10_000, now: Date.now, ...options };
    this.#startedMs = this.#opts.now();
    for (const t of store.unfinished()) this.#unfinished.set(t.id, t);
    for (const n of store.nodes()) {
      n.status = NodeStatus.OFFLINE;
      this.#nodes.set(n.id, n);
    }
    if (this.#unfinished.size > 0) {
      this.#log.info({ unfinished: this.#unfinished.size }, "node master: recovered unfinished tasks");
    }
  }

  /** Starts the heartbeat sweeper (every quarter of the worker timeout, at most 1 s). */
  startSweeper(): void {
    const every = Math.max(20, Math.min(1000, Math.floor(this.#opts.workerTimeoutMs / 4)));
    this.#sweeper = setInterval(() => this.sweep(), every);
    this.#sweeper.unref();
  }

  get workerTimeoutMs(): number {
    return this.#opts.workerTimeoutMs;
  }

  // ─── users ────────────────────────────────────────────────────────────

  /** `trace`: the W3C context of the submitting call, carried to the worker. */
  submit(req: SubmitTaskRequest, trace?: TaskTrace): Task {
    const now = this.#opts.now();
    const task = create(TaskSchema, {
      id: randomUUID(),
      command: req.command,
      timeout: req.timeout,
      labels: req.labels,
      traceparent: trace?.traceparent ?? "",
      tracestate: trace?.tracestate ?? "",
      state: TaskState.QUEUED,
      createdAt: timestampFromMs(now),
      updatedAt: timestampFromMs(now),
    });
    this.#store.insert(task);
    this.#unfinished.set(task.id, task);
    this.#emit(task);
    this.#schedule();
    return clone(TaskSchema, task);
  }

  get(id: string): Task | undefined {
    const t = this.#unfinished.get(id);
    return t ? clone(TaskSchema, t) : this.#store.get(id);
  }

  list(filter: { states: TaskState[]; workerId: string; before?: number; limit: number }): TaskPage {
    const page = this.#store.list(filter);
    // Unfinished tasks: the in-memory copy is the current one.
    page.tasks = page.tasks.map((t) => (this.#unfinished.has(t.id) ? clone(TaskSchema, this.#unfinished.get(t.id)!) : t));
    return page;
  }

  cancel(id: string, reason: string): Task {
    const task = this.#unfinished.get(id);
    if (!task) {
      const done = this.#store.get(id);
      if (!done) throw new ConnectError(`task ${id} not found`, Code.NotFound);
      throw failedPrecondition(`task ${id} already finished (${TaskState[done.state]})`);
    }
    const workerId = task.workerId;
    const wasActive = isActive(task.state);
    this.#change(task, TaskState.CANCELLED, { reason: reason || "cancelled by a user" });
    if (wasActive) {
      const s = this.#sessions.get(workerId);
      if (s) {
        s.pendingCancel.add(id);
        s.queue.push({ action: { case: "cancelTaskId", value: id } } as AssignTaskResponse);
      }
    }
    this.#schedule();
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
      snapshot = [...this.#unfinished.values()].map((t) => clone(TaskSchema, t));
    }
    const limit = this.#opts.watchQueueLimit + (sendInitial ? snapshot.length + 1 : 0);
    const queue = new EventQueue<WatchTasksResponse>(
      limit,
      () => new ConnectError(`watcher fell more than ${limit} changes behind`, Code.ResourceExhausted),
    );
    if (sendInitial) {
      for (const task of snapshot) queue.push({ task, sequence: 0n, snapshotDone: false } as WatchTasksResponse);
      queue.push({ sequence: 0n, snapshotDone: true } as WatchTasksResponse);
    }
    const entry = { taskId, queue };
    if (taskId !== "" && isFinal(snapshot[0]!.state)) {
      if (!sendInitial) queue.push({ task: snapshot[0], sequence: 0n, snapshotDone: false } as WatchTasksResponse);
      queue.close();
    } else {
      this.#watchers.add(entry);
    }
    return { queue, dispose: () => this.#watchers.delete(entry) };
  }

  nodes(): Node[] {
    const running = new Map<string, string[]>();
    for (const t of this.#unfinished.values()) {
      if (isActive(t.state)) running.set(t.workerId, [...(running.get(t.workerId) ?? []), t.id]);
    }
    return [...this.#nodes.values()]
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .map((n) => {
        const out = clone(NodeSchema, n);
        const s = this.#sessions.get(n.id);
        out.runningTaskIds = running.get(n.id) ?? [];
        if (s) {
          out.status = s.draining ? NodeStatus.DRAINING : NodeStatus.ONLINE;
          out.load = s.load;
          out.capacity = s.capacity;
          out.lastHeartbeat = timestampFromMs(s.lastHeartbeatMs);
        }
        return out;
      });
  }

  // ─── workers ──────────────────────────────────────────────────────────

  /** A worker opened AssignTask. The first queued message is `registered`. */
  connect(req: AssignTaskRequest): Session {
    const now = this.#opts.now();
    const old = this.#sessions.get(req.workerId);
    if (old) {
      // The same worker reconnected before we noticed its old stream died.
      old.ended = true;
      old.queue.close(new ConnectError("replaced by a newer connection of the same worker", Code.Aborted));
    }
    const s: Session = {
      workerId: req.workerId,
      queue: new EventQueue<AssignTaskResponse>(
        this.#opts.workerQueueLimit,
        () => new ConnectError("worker fell too far behind", Code.ResourceExhausted),
      ),
      labels: { ...req.labels },
      capacity: req.capacity,
      version: req.version,
      hostname: req.hostname,
      load: 0,
      draining: false,
      connectedAtMs: now,
      lastHeartbeatMs: now,
      lastAssigned: 0,
      pendingCancel: new Set(),
      ended: false,
    };
    this.#sessions.set(s.workerId, s);
    s.queue.push({
      action: { case: "registered", value: { workerTimeout: durationFromMs(this.#opts.workerTimeoutMs) } },
    } as AssignTaskResponse);
    this.#putNode(s);
    this.#log.info({ workerId: s.workerId, capacity: s.capacity, labels: s.labels }, "worker connected");

    // Reconcile with what the worker says it still has.
    const has = new Set(req.runningTaskIds);
    for (const t of [...this.#unfinished.values()]) {
      if (t.workerId === s.workerId && isActive(t.state) && !has.has(t.id)) {
        this.#requeueOrFail(t, `worker ${s.workerId} reconnected without the task`);
      }
    }
    for (const id of has) {
      const t = this.#unfinished.get(id);
      if (!t || t.workerId !== s.workerId || !isActive(t.state)) {
        // Not the worker's any more: stop it; its slot is busy until it stops.
        s.pendingCancel.add(id);
        s.queue.push({ action: { case: "cancelTaskId", value: id } } as AssignTaskResponse);
      }
    }
    this.#schedule();
    return s;
  }

  /**
   * The AssignTask stream of `s` ended. Its tasks are re-queued, unless
   * `requeue` is false (the server is shutting down: they wait for the
   * worker to come back to the next master).
   */
  disconnect(ws: WorkerSession, reason: string, requeue: boolean): void {
    const s = ws as Session;
    if (s.ended) return;
    s.ended = true;
    s.queue.close();
    if (this.#sessions.get(s.workerId) !== s) return;
    this.#sessions.delete(s.workerId);
    this.#putNode(s, NodeStatus.OFFLINE);
    this.#log.info({ workerId: s.workerId, reason }, "worker disconnected");
    if (requeue) this.#loseWorker(s.workerId, reason);
    this.#schedule();
  }

  heartbeat(req: ReportStatusRequest): void {
    const s = this.#sessions.get(req.workerId);
    if (!s) throw failedPrecondition(`worker ${req.workerId} is not connected: open AssignTask first`);
    s.lastHeartbeatMs = this.#opts.now();
    s.load = req.load;
    if (req.version) s.version = req.version;
    const wasDraining = s.draining;
    const oldCapacity = s.capacity;
    s.draining = req.draining;
    if (req.capacity > 0) s.capacity = req.capacity;
    if (s.draining !== wasDraining) {
      this.#putNode(s);
      this.#log.info({ workerId: s.workerId, draining: s.draining }, "worker draining");
    }
    const reported = new Set(req.runningTaskIds);
    let freed = false;
    for (const id of s.pendingCancel) {
      if (!reported.has(id)) freed = s.pendingCancel.delete(id);
    }
    for (const id of reported) {
      const t = this.#unfinished.get(id);
      const mine = t !== undefined && t.workerId === s.workerId && isActive(t.state);
      if (!mine && !s.pendingCancel.has(id)) {
        s.pendingCancel.add(id);
        s.queue.push({ action: { case: "cancelTaskId", value: id } } as AssignTaskResponse);
      }
    }
    if (freed || s.capacity > oldCapacity || (wasDraining && !s.draining)) this.#schedule();
  }

  start(workerId: string, taskId: string, attempt: number): void {
    const t = this.#mine(workerId, taskId, attempt);
    if (t.state === TaskState.ASSIGNED) this.#change(t, TaskState.RUNNING);
  }

  finish(req: FinishTaskRequest): void {
    const allowed = [TaskState.SUCCEEDED, TaskState.FAILED, TaskState.CANCELLED, TaskState.QUEUED];
    if (!allowed.includes(req.state)) {
      throw new ConnectError("state must be SUCCEEDED, FAILED, CANCELLED or QUEUED", Code.InvalidArgument);
    }
    const s = this.#sessions.get(req.workerId);
    if (s?.pendingCancel.delete(req.taskId)) {
      // A cancelled task stopped: keep its result (not a state change).
      const t = this.#store.get(req.taskId);
      if (t && t.workerId === req.workerId && t.attempt === req.attempt && !t.result && req.result) {
        t.result = req.result;
        this.#store.update(t);
      }
      this.#schedule();
      return;
    }
    const t = this.#mine(req.workerId, req.taskId, req.attempt);
    if (req.state === TaskState.QUEUED) {
      this.#requeueOrFail(t, req.reason || `given back by worker ${req.workerId}`);
    } else {
      // An empty reason (success) keeps the last re-queue reason visible.
      this.#change(t, req.state, { reason: req.reason || undefined, result: req.result });
    }
    this.#schedule();
  }

  /** Ends sessions without heartbeats and re-queues tasks of workers gone for a worker timeout. */
  sweep(): void {
    const now = this.#opts.now();
    const limit = this.#opts.workerTimeoutMs;
    for (const s of [...this.#sessions.values()]) {
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
      for (const t of this.#unfinished.values()) {
        if (isActive(t.state) && !this.#sessions.has(t.workerId)) gone.add(t.workerId);
      }
      for (const w of gone) this.#loseWorker(w, `worker ${w} did not come back within ${limit}ms`);
      if (gone.size > 0) this.#schedule();
    }
  }

  /** Stops the sweeper and ends every stream (the store is closed by the module). */
  close(): void {
    clearInterval(this.#sweeper);
    for (const w of this.#watchers) w.queue.close(new ConnectError("server is shutting down", Code.Unavailable));
    this.#watchers.clear();
    for (const s of this.#sessions.values()) {
      s.ended = true;
      s.queue.close(new ConnectError("server is shutting down", Code.Unavailable));
    }
    this.#sessions.clear();
  }

  // ─── internals ────────────────────────────────────────────────────────

  /** The unfinished task `taskId` if it is assigned to `workerId` at `attempt`. */
  #mine(workerId: string, taskId: string, attempt: number): Task {
    const t = this.#unfinished.get(taskId);
    if (!t || t.workerId !== workerId || t.attempt !== attempt || !isActive(t.state)) {
      throw failedPrecondition(`task ${taskId} attempt ${attempt} is not assigned to worker ${workerId}`);
    }
    return t;
  }

  #loseWorker(workerId: string, reason: string): void {
    for (const t of [...this.#unfinished.values()]) {
      if (t.workerId === workerId && isActive(t.state)) this.#requeueOrFail(t, reason);
    }
  }

  /** At-least-once: back to QUEUED, or FAILED once the task used its retries. */
  #requeueOrFail(t: Task, reason: string): void {
    if (t.attempt > this.#opts.taskRetries) {
      this.#change(t, TaskState.FAILED, { reason: `${reason}; gave up after ${t.attempt} attempts` });
    } else {
      this.#change(t, TaskState.QUEUED, { reason });
    }
    this.#log.info({ taskId: t.id, attempt: t.attempt, state: TaskState[t.state], reason }, "task re-queued or failed");
  }

  /** Assigns queued tasks, oldest first, to the least busy matching workers. */
  #schedule(): void {
    if (this.#sessions.size === 0) return;
    const candidates = new Map<string, Candidate & { session: Session }>();
    for (const s of this.#sessions.values()) {
      candidates.set(s.workerId, {
        id: s.workerId,
        labels: s.labels,
        capacity: s.capacity,
        busy: s.pendingCancel.size,
        draining: s.draining,
        lastAssigned: s.lastAssigned,
        session: s,
      });
    }
    const queued: Task[] = [];
    for (const t of this.#unfinished.values()) {
      if (t.state === TaskState.QUEUED) queued.push(t);
      else if (isActive(t.state)) {
        const c = candidates.get(t.workerId);
        if (c) c.busy++;
      }
    }
    let free = 0;
    for (const c of candidates.values()) if (!c.draining) free += Math.max(0, c.capacity - c.busy);
    for (const t of queued) {
      if (free === 0) break;
      const c = pickWorker(t.labels, candidates.values()) as (Candidate & { session: Session }) | undefined;
      if (!c) continue;
      this.#change(t, TaskState.ASSIGNED, { workerId: c.id });
      c.busy++;
      free--;
      c.lastAssigned = c.session.lastAssigned = ++this.#assignments;
      c.session.queue.push({ action: { case: "task", value: clone(TaskSchema, t) } } as AssignTaskResponse);
    }
  }

  /** One state change: memory, store (undone in memory if the write fails), watchers. */
  #change(t: Task, to: TaskState, patch: TransitionPatch = {}): void {
    const before = clone(TaskSchema, t);
    applyTransition(t, to, this.#opts.now(), patch);
    try {
      this.#store.update(t);
    } catch (err) {
      Object.assign(t, before);
      throw err;
    }
    if (isFinal(to)) this.#unfinished.delete(t.id);
    this.#emit(t);
  }

  /** Feeds every matching watcher synchronously, in the order changes happen. */
  #emit(t: Task): void {
    this.#sequence++;
    if (this.#watchers.size === 0) return;
    const msg = { task: clone(TaskSchema, t), sequence: this.#sequence, snapshotDone: false } as WatchTasksResponse;
    for (const w of [...this.#watchers]) {
      if (w.taskId !== "" && w.taskId !== t.id) continue;
      if (!w.queue.push(msg) || (w.taskId !== "" && isFinal(t.state))) {
        w.queue.close();
        this.#watchers.delete(w);
      }
    }
  }

  #putNode(s: Session, status = s.draining ? NodeStatus.DRAINING : NodeStatus.ONLINE): void {
    const node = create(NodeSchema, {
      id: s.workerId,
      labels: s.labels,
      status,
      capacity: s.capacity,
      load: s.load,
      version: s.version,
      hostname: s.hostname,
      lastHeartbeat: timestampFromMs(s.lastHeartbeatMs),
      connectedAt: timestampFromMs(s.connectedAtMs),
    });
    this.#nodes.set(node.id, node);
    this.#store.putNode(node);
  }
}
