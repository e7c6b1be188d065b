import { clone, create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import {
  NodeSchema,
  NodeStatus,
  type AssignTaskRequest,
  type Node,
  type ReportStatusRequest,
} from "@switchboard/gen/node/v1/node_pb.js";
import type { Logger } from "../../logger.ts";
import { failedPrecondition } from "../master-rules.ts";
import type { SyncTaskStore } from "../task-store.ts";
import type { WorkerSession } from "../task-master.ts";
import { replaced, sendCancel, workerQueue } from "../worker-session.ts";

/** One connected worker (one open AssignTask stream). */
export interface Session extends WorkerSession {
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

/** What a WorkerRegistry needs. */
export interface WorkerRegistryOptions {
  store: SyncTaskStore;
  logger: Logger;
  workerTimeoutMs: number;
  workerQueueLimit: number;
  now: () => number;
}

/**
 * The embedded master's workers: the open AssignTask streams (sessions) and
 * the node rows, kept in memory and in the store. Node rows of a previous
 * run start OFFLINE.
 */
export class WorkerRegistry {
  readonly #o: WorkerRegistryOptions;
  readonly #sessions = new Map<string, Session>();
  readonly #nodes = new Map<string, Node>();

  constructor(options: WorkerRegistryOptions) {
    this.#o = options;
    for (const n of options.store.nodes()) {
      n.status = NodeStatus.OFFLINE;
      this.#nodes.set(n.id, n);
    }
  }

  get sessions(): ReadonlyMap<string, Session> {
    return this.#sessions;
  }

  /** A worker opened AssignTask: a new session (an older one of the same worker ends). */
  open(req: AssignTaskRequest): Session {
    const now = this.#o.now();
    const old = this.#sessions.get(req.workerId);
    if (old) {
      // The same worker reconnected before we noticed its old stream died.
      old.ended = true;
      old.queue.close(replaced());
    }
    const s: Session = {
      workerId: req.workerId,
      queue: workerQueue(this.#o.workerQueueLimit, this.#o.workerTimeoutMs),
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
    this.#putNode(s);
    this.#o.logger.info({ workerId: s.workerId, capacity: s.capacity, labels: s.labels }, "worker connected");
    return s;
  }

  /** Tells the worker to stop a task that is not its any more; its slot is busy until it stops. */
  cancelOn(s: Session, taskId: string): void {
    s.pendingCancel.add(taskId);
    sendCancel(s.queue, taskId);
  }

  /** Ends a session's stream; true if it was the worker's current one (now removed, node OFFLINE). */
  close(s: Session, reason: string): boolean {
    if (s.ended) return false;
    s.ended = true;
    s.queue.close();
    if (this.#sessions.get(s.workerId) !== s) return false;
    this.#sessions.delete(s.workerId);
    this.#putNode(s, NodeStatus.OFFLINE);
    this.#o.logger.info({ workerId: s.workerId, reason }, "worker disconnected");
    return true;
  }

  /**
   * Records a heartbeat. Tasks the worker reports that `owns` says are not
   * its own are cancelled on it. True when slots may have been freed.
   */
  heartbeat(req: ReportStatusRequest, owns: (workerId: string, taskId: string) => boolean): boolean {
    const s = this.#sessions.get(req.workerId);
    if (!s) throw failedPrecondition(`worker ${req.workerId} is not connected: open AssignTask first`);
    s.lastHeartbeatMs = this.#o.now();
    s.load = req.load;
    if (req.version) s.version = req.version;
    const wasDraining = s.draining;
    const oldCapacity = s.capacity;
    s.draining = req.draining;
    if (req.capacity > 0) s.capacity = req.capacity;
    if (s.draining !== wasDraining) {
      this.#putNode(s);
      this.#o.logger.info({ workerId: s.workerId, draining: s.draining }, "worker draining");
    }
    const reported = new Set(req.runningTaskIds);
    let freed = false;
    for (const id of s.pendingCancel) {
      if (!reported.has(id)) freed = s.pendingCancel.delete(id);
    }
    for (const id of reported) {
      if (!owns(s.workerId, id) && !s.pendingCancel.has(id)) this.cancelOn(s, id);
    }
    return freed || s.capacity > oldCapacity || (wasDraining && !s.draining);
  }

  /** Every node by id, with its live state and `running` task ids. */
  nodes(running: Map<string, string[]>): Node[] {
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

  /** Ends every stream with an error from `err`. */
  closeAll(err: () => unknown): void {
    for (const s of this.#sessions.values()) {
      s.ended = true;
      s.queue.close(err());
    }
    this.#sessions.clear();
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
    this.#o.store.putNode(node);
  }
}
