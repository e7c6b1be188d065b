import { randomUUID } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  TaskState,
  type AssignTaskRequest,
  type FinishTaskRequest,
  type Node,
  type ReportStatusRequest,
  type SubmitTaskRequest,
  type Task,
} from "@switchboard/gen/node/v1/node_pb.js";
import type { PgDb } from "../db/pg-db.ts";
import { NotifyListener } from "../db/notify-listener.ts";
import { isUnavailable } from "../db/pg-errors.ts";
import type { Logger } from "../logger.ts";
import { claimQueued } from "./cluster/claims.ts";
import type { ClusterContext, ClusterMasterOptions, ClusterSession } from "./cluster/cluster-context.ts";
import { ClusterWatchers } from "./cluster/cluster-watchers.ts";
import { beat, deregister, reap, reattach, silentWorkers } from "./cluster/liveness.ts";
import { channels, notify, parseWorkerNote } from "./cluster/notify.ts";
import { appendEvent, cancelTask, change, lockTask, requeueOrFail } from "./cluster/task-changes.ts";
import { attachWorker, detachWorker, listNodes, recordHeartbeat } from "./cluster/worker-rows.ts";
import {
  checkEveryMs,
  checkFinishState,
  limitDefaults,
  mine,
  newTask,
  shuttingDown,
} from "./master-rules.ts";
import { insertTask, PgTaskStore, updateTask } from "./store/postgres.ts";
import type { TaskMaster, TaskTrace, Watcher, WorkerSession } from "./task-master.ts";
import type { TaskFilter, TaskPage } from "./task-store.ts";
import { replaced, sendCancel, workerQueue } from "./worker-session.ts";

export type { ClusterMasterOptions };

/**
 * The task master of cluster mode: tasks, their change events, workers and
 * instances live in PostgreSQL, so every instance serves the same cluster.
 * This instance keeps only the AssignTask streams attached to it and its
 * watchers. Each state change is one transaction that locks the task row
 * (`FOR UPDATE`), checks the change against the row, writes it and appends
 * a task_events row (cluster/task-changes.ts); queued work is claimed with
 * `FOR UPDATE SKIP LOCKED` (cluster/claims.ts). LISTEN/NOTIFY wakes
 * instances (cluster/notify.ts); a slow poll covers missed notifications and
 * keeps liveness and reaping going (cluster/liveness.ts).
 */
export class ClusterMaster implements TaskMaster {
  readonly id = randomUUID();
  readonly #x: ClusterContext;
  readonly #db: PgDb;
  readonly #store: PgTaskStore;
  readonly #log: Logger;
  readonly #opts: Required<ClusterMasterOptions>;
  readonly #sessions = new Map<string, ClusterSession>();
  readonly #watchers: ClusterWatchers;
  #listener: NotifyListener | undefined;
  #timer: NodeJS.Timeout | undefined;
  #scheduling = false;
  #scheduleAgain = false;
  #ticking = false;
  #assignments = 0;
  #closed = false;
  /** No reaping before this time (ms): after a database outage, instances first renew their rows. */
  #graceUntil = 0;
  #unsubscribe = () => {};

  private constructor(db: PgDb, logger: Logger, options: ClusterMasterOptions) {
    this.#db = db;
    this.#store = new PgTaskStore(db);
    this.#log = logger.child({ instance: this.id });
    this.#opts = {
      ...limitDefaults,
      instanceTtlMs: 5000,
      eventRetention: 1_000_000,
      pollMs: checkEveryMs(options.workerTimeoutMs),
      ...options,
    };
    this.#x = { db, id: this.id, log: this.#log, opts: this.#opts };
    this.#watchers = new ClusterWatchers(db, this.#opts.watchQueueLimit, (p, what) => this.#background(p, what));
  }

  /** Registers this instance, starts listening and the fallback poll. */
  static async open(db: PgDb, logger: Logger, options: ClusterMasterOptions): Promise<ClusterMaster> {
    const m = new ClusterMaster(db, logger, options);
    await beat(m.#x);
    m.#listener = new NotifyListener({
      url: db.url,
      channels: Object.values(channels),
      onNotify: (ch, payload) => m.#onNotify(ch, payload),
      onReconnect: () => m.#wakeAll(),
      logger: m.#log,
    });
    await m.#listener.start();
    m.#unsubscribe = db.onChange((up) => {
      if (up) m.#background(m.#recovered(), "recover");
    });
    m.#timer = setInterval(() => m.#background(m.#tick(), "tick"), m.#opts.pollMs);
    m.#timer.unref();
    m.#log.info({ pollMs: m.#opts.pollMs }, "node master: cluster mode on PostgreSQL");
    return m;
  }

  // ─── users ────────────────────────────────────────────────────────────

  async submit(req: SubmitTaskRequest, trace?: TaskTrace): Promise<Task> {
    const task = newTask(req, Date.now(), trace);
    await this.#db.tx(async (c) => {
      await insertTask(c, task);
      await appendEvent(c, task);
      await notify(c, channels.wake);
    });
    this.#schedule();
    return task;
  }

  get(id: string): Promise<Task | undefined> {
    return this.#store.get(id);
  }

  list(filter: TaskFilter): Promise<TaskPage> {
    return this.#store.list(filter);
  }

  cancel(id: string, reason: string): Promise<Task> {
    return this.#db.tx((c) => cancelTask(c, id, reason));
  }

  /** See ClusterWatchers.open. */
  watch(taskId: string, sendInitial: boolean, afterSequence: bigint): Promise<Watcher> {
    return this.#watchers.open(taskId, sendInitial, afterSequence);
  }

  nodes(): Promise<Node[]> {
    return listNodes(this.#db);
  }

  // ─── workers ──────────────────────────────────────────────────────────

  /**
   * A worker opened AssignTask here: its node row points at this instance (an
   * older stream on another instance is told to end), and its tasks are
   * reconciled with the ids it says it still has.
   */
  async connect(req: AssignTaskRequest): Promise<WorkerSession> {
    const old = this.#sessions.get(req.workerId);
    if (old) this.#endSession(old, replaced());
    const s: ClusterSession = {
      workerId: req.workerId,
      queue: workerQueue(this.#opts.workerQueueLimit, this.#opts.workerTimeoutMs),
      ended: false,
      lastAssigned: 0,
    };
    this.#sessions.set(s.workerId, s);
    let cancels: string[];
    try {
      cancels = await attachWorker(this.#x, req);
    } catch (err) {
      this.#endSession(s);
      throw err;
    }
    this.#log.info({ workerId: s.workerId, capacity: req.capacity, labels: req.labels }, "worker connected");
    // Not the worker's any more: stop them.
    for (const id of cancels) sendCancel(s.queue, id);
    this.#schedule();
    return s;
  }

  async disconnect(ws: WorkerSession, reason: string, requeue: boolean): Promise<void> {
    const s = ws as ClusterSession;
    if (s.ended) return;
    if (this.#sessions.get(s.workerId) !== s) {
      s.ended = true;
      s.queue.close();
      return;
    }
    this.#endSession(s);
    this.#log.info({ workerId: s.workerId, reason }, "worker disconnected");
    try {
      await detachWorker(this.#x, s.workerId, reason, requeue);
    } catch (err) {
      // The database is unreachable: a surviving instance reaps the tasks
      // once the worker timeout has passed without the worker.
      this.#log.warn({ workerId: s.workerId, err: (err as Error).message }, "could not record the disconnect");
    }
    this.#schedule();
  }

  async heartbeat(req: ReportStatusRequest): Promise<void> {
    if (await recordHeartbeat(this.#x, req)) this.#schedule();
  }

  async start(workerId: string, taskId: string, attempt: number): Promise<void> {
    await this.#db.tx(async (c) => {
      const t = mine(await lockTask(c, taskId), workerId, taskId, attempt);
      if (t.state === TaskState.ASSIGNED) await change(c, t, TaskState.RUNNING);
    });
  }

  async finish(req: FinishTaskRequest): Promise<void> {
    checkFinishState(req.state);
    await this.#db.tx(async (c) => {
      const found = await lockTask(c, req.taskId);
      if (found && found.state === TaskState.CANCELLED && found.workerId === req.workerId && found.attempt === req.attempt) {
        // A cancelled task stopped: keep its result (not a state change).
        if (!found.result && req.result) {
          found.result = req.result;
          await updateTask(c, found);
        }
      } else {
        const t = mine(found, req.workerId, req.taskId, req.attempt);
        if (req.state === TaskState.QUEUED) {
          await requeueOrFail(c, t, req.reason || `given back by worker ${req.workerId}`, this.#opts.taskRetries, this.#log);
        } else {
          // An empty reason (success) keeps the last re-queue reason visible.
          await change(c, t, req.state, { reason: req.reason || undefined, result: req.result });
        }
      }
      await notify(c, channels.wake);
    });
    this.#schedule();
  }

  /** Ends this instance's streams and watchers; its workers stay assigned their tasks (to reconnect elsewhere). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    this.#unsubscribe();
    this.#watchers.close(shuttingDown);
    for (const s of [...this.#sessions.values()]) this.#endSession(s, shuttingDown());
    try {
      await deregister(this.#x);
    } catch (err) {
      this.#log.warn({ err: (err as Error).message }, "could not deregister the instance; it expires by itself");
    }
    await this.#listener?.close();
  }

  // ─── internals ────────────────────────────────────────────────────────

  #endSession(s: ClusterSession, err?: unknown): void {
    s.ended = true;
    s.queue.close(err);
    if (this.#sessions.get(s.workerId) === s) this.#sessions.delete(s.workerId);
  }

  /** Runs the local scheduler (coalesced: one run at a time, another if asked meanwhile). */
  #schedule(): void {
    if (this.#closed || this.#sessions.size === 0) return;
    if (this.#scheduling) {
      this.#scheduleAgain = true;
      return;
    }
    this.#scheduling = true;
    this.#background(
      (async () => {
        try {
          do {
            this.#scheduleAgain = false;
            if (await claimQueued(this.#x, this.#sessions, () => ++this.#assignments)) this.#scheduleAgain = true;
          } while (this.#scheduleAgain && !this.#closed);
        } finally {
          this.#scheduling = false;
        }
      })(),
      "schedule",
    );
  }

  #onNotify(channel: string, payload: string): void {
    if (this.#closed) return;
    if (channel === channels.wake) this.#schedule();
    else if (channel === channels.events) this.#watchers.pumpAll();
    else if (channel === channels.worker) {
      const note = parseWorkerNote(payload);
      const s = note && this.#sessions.get(note.workerId);
      if (!note || !s) return;
      if (note.movedTo !== undefined && note.movedTo !== this.id) {
        this.#endSession(s, replaced());
      } else if (note.cancel !== undefined) {
        sendCancel(s.queue, note.cancel);
      }
    }
  }

  /** After missed notifications: re-check everything. */
  #wakeAll(): void {
    this.#schedule();
    this.#watchers.pumpAll();
  }

  /** The fallback poll: liveness, local heartbeat checks, reaping, scheduling, watchers. */
  async #tick(): Promise<void> {
    if (this.#ticking || this.#closed) return;
    this.#ticking = true;
    try {
      await beat(this.#x);
      if (Date.now() >= this.#graceUntil) {
        await this.#expireLocalSessions();
        await reap(this.#x);
      }
      this.#wakeAll();
    } finally {
      this.#ticking = false;
    }
  }

  /**
   * The database is back after an outage. Heartbeats could not be recorded
   * meanwhile and liveness rows may have expired, so nobody reaps for a grace
   * period (every instance renews its row and its workers' last-seen time
   * first): a database restart must not re-queue tasks that are running fine.
   */
  async #recovered(): Promise<void> {
    this.#graceUntil = Date.now() + this.#opts.instanceTtlMs + 2 * this.#opts.pollMs;
    await beat(this.#x);
    await reattach(this.#x, [...this.#sessions.keys()]);
    this.#wakeAll();
  }

  /** Ends local streams of workers whose last heartbeat (to any instance) is older than the worker timeout. */
  async #expireLocalSessions(): Promise<void> {
    if (this.#sessions.size === 0) return;
    const limit = this.#opts.workerTimeoutMs;
    for (const id of await silentWorkers(this.#x)) {
      const s = this.#sessions.get(id);
      if (!s) continue;
      const reason = `worker ${id} missed heartbeats for ${limit}ms`;
      s.queue.close(new ConnectError(reason, Code.Unavailable));
      await this.disconnect(s, reason, true);
    }
  }

  /** Runs a background promise; failures are logged (an unreachable database only at debug level). */
  #background(p: Promise<unknown>, what: string): void {
    p.catch((err: unknown) => {
      if (this.#closed) return;
      const level = isUnavailable(err) || ConnectError.from(err).code === Code.Unavailable ? "debug" : "warn";
      this.#log[level]({ err: (err as Error).message, what }, "node master: background step failed");
    });
  }
}
