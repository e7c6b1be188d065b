import { randomUUID } from "node:crypto";
import { clone, create, toBinary } from "@bufbuild/protobuf";
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
import type { PgDb, Queryable } from "../db/pg-db.ts";
import { NotifyListener } from "../db/notify-listener.ts";
import { isUnavailable } from "../db/pg-errors.ts";
import { EventQueue } from "../event-queue.ts";
import type { Logger } from "../logger.ts";
import { pickWorker, type Candidate } from "./scheduler.ts";
import { activeStatesSql, decodeNode, decodeTask, finalStatesSql, insertTask, PgTaskStore, updateTask } from "./store/postgres.ts";
import { applyTransition, isActive, isFinal, type TransitionPatch } from "./task-state.ts";
import type { TaskMaster, Watcher, WorkerSession } from "./task-master.ts";
import type { TaskFilter, TaskPage } from "./task-store.ts";

/** Options of the cluster master. */
export interface ClusterMasterOptions {
  /** A worker without a heartbeat for this long is lost (`--worker-timeout`). */
  workerTimeoutMs: number;
  /** Re-queues after a lost worker or a give-back before a task FAILED (`--task-retries`). */
  taskRetries: number;
  /** Messages a watcher may fall behind before it is ended. Default 10 000. */
  watchQueueLimit?: number;
  /** Messages a worker stream may fall behind before it is ended. Default 10 000. */
  workerQueueLimit?: number;
  /** How long this instance's liveness row lasts without a refresh, ms. Default 5000. */
  instanceTtlMs?: number;
  /** task_events kept for resuming watches (the newest this many). Default 1 000 000. */
  eventRetention?: number;
  /**
   * Period of the fallback poll (scheduling, watchers, liveness, reaping) for
   * notifications that were missed, ms. Default a quarter of the worker
   * timeout, at most 1000.
   */
  pollMs?: number;
}

/** NOTIFY channels: wake-up signals only; the state is always read from tables. */
const channels = {
  /** Something may be schedulable (submit, re-queue, a freed slot). */
  wake: "sb_wake",
  /** task_events has new rows. */
  events: "sb_events",
  /** A message for the instance holding a worker's stream (cancel, replaced). */
  worker: "sb_worker",
};
/** Advisory lock every writer of task_events takes first: events commit in seq order. */
const eventLock = 0x5b_0002;
const eventBatch = 500;

interface ClusterSession extends WorkerSession {
  ended: boolean;
  lastAssigned: number;
}

interface ClusterWatcher {
  taskId: string;
  queue: EventQueue<WatchTasksResponse>;
  cursor: bigint;
  pumping: boolean;
  again: boolean;
}

/** A message on the worker channel. */
interface WorkerNote {
  workerId: string;
  /** Tell the worker to stop this task. */
  cancel?: string;
  /** The worker's stream moved to this instance: end ours without re-queueing. */
  movedTo?: string;
}

const failedPrecondition = (msg: string) => new ConnectError(msg, Code.FailedPrecondition);

/**
 * The task master of cluster mode: tasks, their change events, workers and
 * instances live in PostgreSQL, so every instance serves the same cluster.
 * This instance keeps only the AssignTask streams attached to it and its
 * watchers. Each state change is one transaction that locks the task row
 * (`FOR UPDATE`), checks the change against the row, writes it and appends
 * a task_events row; queued work is claimed with `FOR UPDATE SKIP LOCKED`.
 * LISTEN/NOTIFY wakes instances; a slow poll covers missed notifications.
 */
export class ClusterMaster implements TaskMaster {
  readonly id = randomUUID();
  readonly #db: PgDb;
  readonly #store: PgTaskStore;
  readonly #log: Logger;
  readonly #opts: Required<ClusterMasterOptions>;
  readonly #sessions = new Map<string, ClusterSession>();
  readonly #watchers = new Set<ClusterWatcher>();
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
      watchQueueLimit: 10_000,
      workerQueueLimit: 10_000,
      instanceTtlMs: 5000,
      eventRetention: 1_000_000,
      pollMs: Math.max(20, Math.min(1000, Math.floor(options.workerTimeoutMs / 4))),
      ...options,
    };
  }

  /** Registers this instance, starts listening and the fallback poll. */
  static async open(db: PgDb, logger: Logger, options: ClusterMasterOptions): Promise<ClusterMaster> {
    const m = new ClusterMaster(db, logger, options);
    await m.#beat();
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

  async submit(req: SubmitTaskRequest): Promise<Task> {
    const now = Date.now();
    const task = create(TaskSchema, {
      id: randomUUID(),
      command: req.command,
      timeout: req.timeout,
      labels: req.labels,
      state: TaskState.QUEUED,
      createdAt: timestampFromMs(now),
      updatedAt: timestampFromMs(now),
    });
    await this.#db.tx(async (c) => {
      await insertTask(c, task);
      await this.#event(c, task);
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

  async cancel(id: string, reason: string): Promise<Task> {
    return this.#db.tx(async (c) => {
      const t = await lockTask(c, id);
      if (!t) throw new ConnectError(`task ${id} not found`, Code.NotFound);
      if (isFinal(t.state)) throw failedPrecondition(`task ${id} already finished (${TaskState[t.state]})`);
      const wasActive = isActive(t.state);
      await this.#change(c, t, TaskState.CANCELLED, { reason: reason || "cancelled by a user" });
      if (wasActive) {
        await notifyWorker(c, { workerId: t.workerId, cancel: id });
        await notify(c, channels.wake);
      }
      return t;
    });
  }

  /**
   * The snapshot and the cursor come from one REPEATABLE READ transaction;
   * since events commit in sequence order, the changes after the cursor are
   * exactly those the snapshot does not show. With `afterSequence` the watch
   * replays from there instead (no snapshot).
   */
  async watch(taskId: string, sendInitial: boolean, afterSequence: bigint): Promise<Watcher> {
    const resume = afterSequence > 0n;
    const { snapshot, cursor } = await this.#db.tx(async (c) => {
      const max = await c.query<{ seq: string }>("SELECT coalesce(max(seq), 0) AS seq FROM task_events");
      let tasks: Task[] = [];
      if (taskId !== "") {
        const r = await c.query<{ data: Uint8Array }>("SELECT data FROM tasks WHERE id = $1", [taskId]);
        if (!r.rows[0]) throw new ConnectError(`task ${taskId} not found`, Code.NotFound);
        tasks = [decodeTask(r.rows[0].data)];
      } else if (sendInitial && !resume) {
        const r = await c.query<{ data: Uint8Array }>(`SELECT data FROM tasks WHERE state NOT IN (${finalStatesSql}) ORDER BY seq`);
        tasks = r.rows.map((row) => decodeTask(row.data));
      }
      if (resume) {
        const pruned = await c.query<{ value: string }>("SELECT value FROM meta WHERE key = 'task_events_pruned_below'");
        const below = BigInt(pruned.rows[0]?.value ?? "0");
        if (afterSequence + 1n < below) {
          throw new ConnectError(
            `changes before sequence ${below} are no longer kept: watch again with send_initial`,
            Code.OutOfRange,
          );
        }
      }
      return { snapshot: tasks, cursor: resume ? afterSequence : BigInt(max.rows[0]!.seq) };
    }, "REPEATABLE READ");
    const initial = sendInitial && !resume;
    const limit = this.#opts.watchQueueLimit + (initial ? snapshot.length + 1 : 0);
    const queue = new EventQueue<WatchTasksResponse>(
      limit,
      () => new ConnectError(`watcher fell more than ${limit} changes behind`, Code.ResourceExhausted),
    );
    if (initial) {
      for (const task of snapshot) queue.push({ task, sequence: 0n, snapshotDone: false } as WatchTasksResponse);
      queue.push({ sequence: 0n, snapshotDone: true } as WatchTasksResponse);
    }
    const w: ClusterWatcher = { taskId, queue, cursor, pumping: false, again: false };
    if (taskId !== "" && !resume && isFinal(snapshot[0]!.state)) {
      if (!initial) queue.push({ task: snapshot[0], sequence: 0n, snapshotDone: false } as WatchTasksResponse);
      queue.close();
    } else {
      this.#watchers.add(w);
      // Also catches changes whose notification came before the registration.
      this.#background(this.#pump(w), "watch");
    }
    return { queue, dispose: () => this.#watchers.delete(w) };
  }

  async nodes(): Promise<Node[]> {
    const [nodes, running] = await Promise.all([
      this.#db.query<{ data: Uint8Array; online: boolean }>(
        `SELECT n.data, (i.id IS NOT NULL) AS online FROM nodes n
         LEFT JOIN instances i ON i.id = n.instance_id AND i.expires_at > now()
         ORDER BY n.id`,
      ),
      this.#db.query<{ id: string; worker_id: string }>(
        `SELECT id, worker_id FROM tasks WHERE state IN (${activeStatesSql}) ORDER BY seq`,
      ),
    ]);
    const byWorker = new Map<string, string[]>();
    for (const r of running.rows) byWorker.set(r.worker_id, [...(byWorker.get(r.worker_id) ?? []), r.id]);
    return nodes.rows.map((r) => {
      const n = decodeNode(r.data);
      if (!r.online) n.status = NodeStatus.OFFLINE;
      n.runningTaskIds = byWorker.get(n.id) ?? [];
      return n;
    });
  }

  // ─── workers ──────────────────────────────────────────────────────────

  /**
   * A worker opened AssignTask here: its node row points at this instance (an
   * older stream on another instance is told to end), and its tasks are
   * reconciled with the ids it says it still has.
   */
  async connect(req: AssignTaskRequest): Promise<WorkerSession> {
    const old = this.#sessions.get(req.workerId);
    if (old) this.#endSession(old, new ConnectError("replaced by a newer connection of the same worker", Code.Aborted));
    const s: ClusterSession = {
      workerId: req.workerId,
      queue: new EventQueue<AssignTaskResponse>(
        this.#opts.workerQueueLimit,
        () => new ConnectError("worker fell too far behind", Code.ResourceExhausted),
      ),
      ended: false,
      lastAssigned: 0,
    };
    this.#sessions.set(s.workerId, s);
    s.queue.push({
      action: { case: "registered", value: { workerTimeout: durationFromMs(this.#opts.workerTimeoutMs) } },
    } as AssignTaskResponse);
    const has = new Set(req.runningTaskIds);
    let cancels: string[];
    try {
      cancels = await this.#db.tx(async (c) => {
        const prev = await c.query<{ instance_id: string | null }>("SELECT instance_id FROM nodes WHERE id = $1 FOR UPDATE", [req.workerId]);
        const now = timestampFromMs(Date.now());
        const node = create(NodeSchema, {
          id: req.workerId,
          labels: req.labels,
          status: NodeStatus.ONLINE,
          capacity: req.capacity,
          version: req.version,
          hostname: req.hostname,
          lastHeartbeat: now,
          connectedAt: now,
        });
        await c.query(
          `INSERT INTO nodes (id, data, instance_id, seen_at) VALUES ($1, $2, $3, now())
           ON CONFLICT (id) DO UPDATE SET data = excluded.data, instance_id = excluded.instance_id, seen_at = now()`,
          [req.workerId, toBinary(NodeSchema, node), this.id],
        );
        const prevInstance = prev.rows[0]?.instance_id;
        if (prevInstance && prevInstance !== this.id) await notifyWorker(c, { workerId: req.workerId, movedTo: this.id });
        for (const t of await lockTasks(c, `worker_id = $1 AND state IN (${activeStatesSql})`, [req.workerId])) {
          if (!has.has(t.id)) await this.#requeueOrFail(c, t, `worker ${req.workerId} reconnected without the task`);
        }
        const listed = await c.query<{ id: string; worker_id: string; state: number }>(
          "SELECT id, worker_id, state FROM tasks WHERE id = ANY($1)",
          [[...has]],
        );
        const ok = new Set(listed.rows.filter((r) => r.worker_id === req.workerId && isActive(r.state)).map((r) => r.id));
        return [...has].filter((id) => !ok.has(id));
      });
    } catch (err) {
      this.#endSession(s);
      throw err;
    }
    this.#log.info({ workerId: s.workerId, capacity: req.capacity, labels: req.labels }, "worker connected");
    // Not the worker's any more: stop them.
    for (const id of cancels) s.queue.push({ action: { case: "cancelTaskId", value: id } } as AssignTaskResponse);
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
      await this.#detach(s.workerId, reason, requeue);
    } catch (err) {
      // The database is unreachable: a surviving instance reaps the tasks
      // once the worker timeout has passed without the worker.
      this.#log.warn({ workerId: s.workerId, err: (err as Error).message }, "could not record the disconnect");
    }
    this.#schedule();
  }

  async heartbeat(req: ReportStatusRequest): Promise<void> {
    const wake = await this.#db.tx(async (c) => {
      const r = await c.query<{ data: Uint8Array; instance_id: string | null; alive: boolean }>(
        `SELECT n.data, n.instance_id, (i.id IS NOT NULL) AS alive FROM nodes n
         LEFT JOIN instances i ON i.id = n.instance_id AND i.expires_at > now()
         WHERE n.id = $1 FOR UPDATE OF n`,
        [req.workerId],
      );
      const row = r.rows[0];
      if (!row || !row.instance_id || !row.alive) {
        throw failedPrecondition(`worker ${req.workerId} is not connected: open AssignTask first`);
      }
      const node = decodeNode(row.data);
      const wasDraining = node.status === NodeStatus.DRAINING;
      const oldCapacity = node.capacity;
      node.lastHeartbeat = timestampFromMs(Date.now());
      node.load = req.load;
      if (req.version) node.version = req.version;
      if (req.capacity > 0) node.capacity = req.capacity;
      node.status = req.draining ? NodeStatus.DRAINING : NodeStatus.ONLINE;
      await c.query("UPDATE nodes SET data = $2, seen_at = now() WHERE id = $1", [req.workerId, toBinary(NodeSchema, node)]);
      if (req.draining !== wasDraining) this.#log.info({ workerId: req.workerId, draining: req.draining }, "worker draining");
      if (req.runningTaskIds.length > 0) {
        const listed = await c.query<{ id: string; worker_id: string; state: number }>(
          "SELECT id, worker_id, state FROM tasks WHERE id = ANY($1)",
          [req.runningTaskIds],
        );
        const mine = new Set(listed.rows.filter((t) => t.worker_id === req.workerId && isActive(t.state)).map((t) => t.id));
        for (const id of req.runningTaskIds) {
          if (!mine.has(id)) await notifyWorker(c, { workerId: req.workerId, cancel: id });
        }
      }
      const more = node.capacity > oldCapacity || (wasDraining && !req.draining);
      if (more) await notify(c, channels.wake);
      return more;
    });
    if (wake) this.#schedule();
  }

  async start(workerId: string, taskId: string, attempt: number): Promise<void> {
    await this.#db.tx(async (c) => {
      const t = mine(await lockTask(c, taskId), workerId, taskId, attempt);
      if (t.state === TaskState.ASSIGNED) await this.#change(c, t, TaskState.RUNNING);
    });
  }

  async finish(req: FinishTaskRequest): Promise<void> {
    const allowed = [TaskState.SUCCEEDED, TaskState.FAILED, TaskState.CANCELLED, TaskState.QUEUED];
    if (!allowed.includes(req.state)) {
      throw new ConnectError("state must be SUCCEEDED, FAILED, CANCELLED or QUEUED", Code.InvalidArgument);
    }
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
          await this.#requeueOrFail(c, t, req.reason || `given back by worker ${req.workerId}`);
        } else {
          // An empty reason (success) keeps the last re-queue reason visible.
          await this.#change(c, t, req.state, { reason: req.reason || undefined, result: req.result });
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
    const bye = () => new ConnectError("server is shutting down", Code.Unavailable);
    for (const w of this.#watchers) w.queue.close(bye());
    this.#watchers.clear();
    for (const s of [...this.#sessions.values()]) this.#endSession(s, bye());
    try {
      await this.#db.query("UPDATE nodes SET instance_id = NULL, seen_at = now() WHERE instance_id = $1", [this.id]);
      await this.#db.query("DELETE FROM instances WHERE id = $1", [this.id]);
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

  /** The worker's stream here ended: detach its node row (if still ours) and maybe re-queue its tasks. */
  async #detach(workerId: string, reason: string, requeue: boolean): Promise<void> {
    await this.#db.tx(async (c) => {
      const r = await c.query<{ data: Uint8Array; instance_id: string | null }>(
        "SELECT data, instance_id FROM nodes WHERE id = $1 FOR UPDATE",
        [workerId],
      );
      // Reconnected to another instance meanwhile: that one owns it now.
      if (!r.rows[0] || r.rows[0].instance_id !== this.id) return;
      const node = decodeNode(r.rows[0].data);
      node.status = NodeStatus.OFFLINE;
      await c.query("UPDATE nodes SET data = $2, instance_id = NULL, seen_at = now() WHERE id = $1", [workerId, toBinary(NodeSchema, node)]);
      if (!requeue) return;
      for (const t of await lockTasks(c, `worker_id = $1 AND state IN (${activeStatesSql})`, [workerId])) {
        await this.#requeueOrFail(c, t, reason);
      }
    });
  }

  /** At-least-once: back to QUEUED, or FAILED once the task used its retries. */
  async #requeueOrFail(c: Queryable, t: Task, reason: string): Promise<void> {
    if (t.attempt > this.#opts.taskRetries) {
      await this.#change(c, t, TaskState.FAILED, { reason: `${reason}; gave up after ${t.attempt} attempts` });
    } else {
      await this.#change(c, t, TaskState.QUEUED, { reason });
      await notify(c, channels.wake);
    }
    this.#log.info({ taskId: t.id, attempt: t.attempt, state: TaskState[t.state], reason }, "task re-queued or failed");
  }

  /** One state change inside a transaction that holds the task's row lock. */
  async #change(c: Queryable, t: Task, to: TaskState, patch: TransitionPatch = {}): Promise<void> {
    applyTransition(t, to, Date.now(), patch);
    await updateTask(c, t);
    await this.#event(c, t);
  }

  /**
   * Appends the task's change to task_events. The advisory lock (held until
   * commit) makes events commit in sequence order, so a reader that has seen
   * sequence N has seen everything below N. Take every row lock first.
   */
  async #event(c: Queryable, t: Task): Promise<void> {
    await c.query("SELECT pg_advisory_xact_lock($1)", [eventLock]);
    await c.query("INSERT INTO task_events (task_id, data) VALUES ($1, $2)", [t.id, toBinary(TaskSchema, t)]);
    await notify(c, channels.events);
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
            if (await this.#scheduleOnce()) this.#scheduleAgain = true;
          } while (this.#scheduleAgain && !this.#closed);
        } finally {
          this.#scheduling = false;
        }
      })(),
      "schedule",
    );
  }

  /**
   * Claims queued tasks, oldest first, that match a free worker attached to
   * this instance, and assigns them (attempt + 1). Only this instance assigns
   * to its workers, so their free slots are counted here without a race; the
   * claim itself (`FOR UPDATE SKIP LOCKED`) is safe against every instance.
   * Returns true when it filled its batch (there may be more).
   */
  async #scheduleOnce(): Promise<boolean> {
    const sessions = [...this.#sessions.values()].filter((s) => !s.ended);
    if (sessions.length === 0) return false;
    const ids = sessions.map((s) => s.workerId);
    const assigned: Array<{ session: ClusterSession; task: Task }> = [];
    const claimed = await this.#db.tx(async (c) => {
      const nodes = await c.query<{ id: string; data: Uint8Array }>(
        "SELECT id, data FROM nodes WHERE id = ANY($1) AND instance_id = $2",
        [ids, this.id],
      );
      const busy = await c.query<{ worker_id: string; n: number }>(
        `SELECT worker_id, count(*)::int AS n FROM tasks WHERE state IN (${activeStatesSql}) AND worker_id = ANY($1) GROUP BY worker_id`,
        [ids],
      );
      const busyOf = new Map(busy.rows.map((r) => [r.worker_id, r.n]));
      const candidates: Array<Candidate & { session: ClusterSession }> = [];
      for (const row of nodes.rows) {
        const session = this.#sessions.get(row.id);
        if (!session || session.ended) continue;
        const n = decodeNode(row.data);
        candidates.push({
          id: n.id,
          labels: n.labels,
          capacity: n.capacity,
          busy: busyOf.get(n.id) ?? 0,
          draining: n.status === NodeStatus.DRAINING,
          lastAssigned: session.lastAssigned,
          session,
        });
      }
      const open = candidates.filter((x) => !x.draining && x.busy < x.capacity);
      const free = open.reduce((sum, x) => sum + x.capacity - x.busy, 0);
      if (free === 0) return 0;
      const queued = await lockTasks(
        c,
        `state = ${TaskState.QUEUED} AND EXISTS (SELECT 1 FROM jsonb_array_elements($1::jsonb) w WHERE tasks.labels <@ w.value)`,
        [JSON.stringify(open.map((x) => x.labels))],
        `ORDER BY seq LIMIT ${free} FOR UPDATE SKIP LOCKED`,
      );
      for (const t of queued) {
        const pick = pickWorker(t.labels, candidates) as (Candidate & { session: ClusterSession }) | undefined;
        if (!pick) continue;
        await this.#change(c, t, TaskState.ASSIGNED, { workerId: pick.id });
        pick.busy++;
        pick.lastAssigned = pick.session.lastAssigned = ++this.#assignments;
        assigned.push({ session: pick.session, task: clone(TaskSchema, t) });
      }
      return queued.length === free ? queued.length : 0;
    });
    for (const { session, task } of assigned) {
      // A stream that ended meanwhile: its task is re-queued by the disconnect
      // or, if that raced past it, by the reaper after the worker timeout.
      if (!session.ended) session.queue.push({ action: { case: "task", value: task } } as AssignTaskResponse);
    }
    return claimed > 0;
  }

  /** Sends every change after its cursor to a watcher (coalesced like #schedule). */
  async #pump(w: ClusterWatcher): Promise<void> {
    if (w.pumping) {
      w.again = true;
      return;
    }
    w.pumping = true;
    try {
      do {
        w.again = false;
        for (;;) {
          const r = await this.#db.query<{ seq: string; data: Uint8Array }>(
            `SELECT seq, data FROM task_events WHERE seq > $1 AND ($2 = '' OR task_id = $2) ORDER BY seq LIMIT ${eventBatch}`,
            [w.cursor.toString(), w.taskId],
          );
          for (const row of r.rows) {
            if (!this.#watchers.has(w)) return;
            const task = decodeTask(row.data);
            w.cursor = BigInt(row.seq);
            const msg = { task, sequence: w.cursor, snapshotDone: false } as WatchTasksResponse;
            if (!w.queue.push(msg) || (w.taskId !== "" && isFinal(task.state))) {
              w.queue.close();
              this.#watchers.delete(w);
              return;
            }
          }
          if (r.rows.length < eventBatch) break;
        }
      } while (w.again && this.#watchers.has(w));
    } finally {
      w.pumping = false;
    }
  }

  #onNotify(channel: string, payload: string): void {
    if (this.#closed) return;
    if (channel === channels.wake) this.#schedule();
    else if (channel === channels.events) for (const w of this.#watchers) this.#background(this.#pump(w), "watch");
    else if (channel === channels.worker) {
      let note: WorkerNote;
      try {
        note = JSON.parse(payload) as WorkerNote;
      } catch {
        return;
      }
      const s = this.#sessions.get(note.workerId);
      if (!s) return;
      if (note.movedTo !== undefined && note.movedTo !== this.id) {
        this.#endSession(s, new ConnectError("replaced by a newer connection of the same worker", Code.Aborted));
      } else if (note.cancel !== undefined) {
        s.queue.push({ action: { case: "cancelTaskId", value: note.cancel } } as AssignTaskResponse);
      }
    }
  }

  /** After missed notifications: re-check everything. */
  #wakeAll(): void {
    this.#schedule();
    for (const w of this.#watchers) this.#background(this.#pump(w), "watch");
  }

  /** The fallback poll: liveness, local heartbeat checks, reaping, scheduling, watchers. */
  async #tick(): Promise<void> {
    if (this.#ticking || this.#closed) return;
    this.#ticking = true;
    try {
      await this.#beat();
      if (Date.now() >= this.#graceUntil) {
        await this.#expireLocalSessions();
        await this.#reap();
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
    await this.#beat();
    await this.#db.query(
      "UPDATE nodes SET instance_id = $1, seen_at = now() WHERE id = ANY($2) AND (instance_id IS NULL OR instance_id = $1)",
      [this.id, [...this.#sessions.keys()]],
    );
    this.#wakeAll();
  }

  /** Refreshes this instance's liveness row. */
  async #beat(): Promise<void> {
    await this.#db.query(
      `INSERT INTO instances (id, expires_at) VALUES ($1, now() + $2 * interval '1 millisecond')
       ON CONFLICT (id) DO UPDATE SET expires_at = excluded.expires_at`,
      [this.id, this.#opts.instanceTtlMs],
    );
  }

  /** Ends local streams of workers whose last heartbeat (to any instance) is older than the worker timeout. */
  async #expireLocalSessions(): Promise<void> {
    if (this.#sessions.size === 0) return;
    const limit = this.#opts.workerTimeoutMs;
    const r = await this.#db.query<{ id: string }>(
      "SELECT id FROM nodes WHERE instance_id = $1 AND seen_at < now() - $2 * interval '1 millisecond'",
      [this.id, limit],
    );
    for (const { id } of r.rows) {
      const s = this.#sessions.get(id);
      if (!s) continue;
      const reason = `worker ${id} missed heartbeats for ${limit}ms`;
      s.queue.close(new ConnectError(reason, Code.Unavailable));
      await this.disconnect(s, reason, true);
    }
  }

  /**
   * Any instance: re-queues the tasks of workers that are attached to no live
   * instance and were not heard of for the worker timeout (their instance
   * died, or they went away during a shutdown). Row locks make this happen
   * once: a concurrent reaper skips locked rows, and a committed re-queue no
   * longer matches.
   */
  async #reap(): Promise<void> {
    const limit = this.#opts.workerTimeoutMs;
    await this.#db.tx(async (c) => {
      await c.query(
        `UPDATE nodes SET instance_id = NULL WHERE instance_id IS NOT NULL AND NOT EXISTS
           (SELECT 1 FROM instances i WHERE i.id = nodes.instance_id AND i.expires_at > now())`,
      );
      const lost = await lockTasks(
        c,
        `state IN (${activeStatesSql}) AND NOT EXISTS (
           SELECT 1 FROM nodes n WHERE n.id = tasks.worker_id
             AND (n.instance_id IS NOT NULL OR n.seen_at >= now() - $1 * interval '1 millisecond'))`,
        [limit],
        "ORDER BY seq FOR UPDATE SKIP LOCKED",
      );
      for (const t of lost) await this.#requeueOrFail(c, t, `worker ${t.workerId} did not come back within ${limit}ms`);
      await c.query("DELETE FROM instances WHERE expires_at < now() - interval '1 hour'");
    });
    await this.#prune();
  }

  /** Drops the oldest task_events beyond the retention and records up to where. */
  async #prune(): Promise<void> {
    const r = await this.#db.query<{ seq: string | null }>("SELECT max(seq) AS seq FROM task_events");
    const below = BigInt(r.rows[0]?.seq ?? "0") - BigInt(this.#opts.eventRetention) + 1n;
    if (below <= 1n) return;
    await this.#db.tx(async (c) => {
      const pruned = await c.query(
        `INSERT INTO meta (key, value) VALUES ('task_events_pruned_below', $1)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value WHERE meta.value::bigint < excluded.value::bigint`,
        [below.toString()],
      );
      if (pruned.rowCount === 1) await c.query("DELETE FROM task_events WHERE seq < $1", [below.toString()]);
    });
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

/** The task if it is assigned to `workerId` at `attempt` and active; FAILED_PRECONDITION otherwise. */
function mine(t: Task | undefined, workerId: string, taskId: string, attempt: number): Task {
  if (!t || t.workerId !== workerId || t.attempt !== attempt || !isActive(t.state)) {
    throw failedPrecondition(`task ${taskId} attempt ${attempt} is not assigned to worker ${workerId}`);
  }
  return t;
}

async function lockTask(c: Queryable, id: string): Promise<Task | undefined> {
  return (await lockTasks(c, "id = $1", [id]))[0];
}

async function lockTasks(c: Queryable, where: string, params: unknown[], tail = "ORDER BY seq FOR UPDATE"): Promise<Task[]> {
  const r = await c.query<{ data: Uint8Array }>(`SELECT data FROM tasks WHERE ${where} ${tail}`, params);
  return r.rows.map((row) => decodeTask(row.data));
}

async function notify(c: Queryable, channel: string, payload = ""): Promise<void> {
  await c.query("SELECT pg_notify($1, $2)", [channel, payload]);
}

async function notifyWorker(c: Queryable, note: WorkerNote): Promise<void> {
  await notify(c, channels.worker, JSON.stringify(note));
}
