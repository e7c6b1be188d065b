import type {
  AssignTaskRequest,
  AssignTaskResponse,
  FinishTaskRequest,
  Node,
  ReportStatusRequest,
  SubmitTaskRequest,
  Task,
  WatchTasksResponse,
} from "@switchboard/gen/node/v1/node_pb.js";
import type { EventQueue } from "../event-queue.ts";
import type { TaskFilter, TaskPage } from "./task-store.ts";

/** One connected worker: its AssignTask stream's queue. */
export interface WorkerSession {
  readonly workerId: string;
  readonly queue: EventQueue<AssignTaskResponse>;
}

/** One WatchTasks stream. */
export interface Watcher {
  readonly queue: EventQueue<WatchTasksResponse>;
  /** Stop watching (the stream ended). */
  dispose(): void;
}

type MaybePromise<T> = T | Promise<T>;

/**
 * What NodeService needs from a master: the embedded NodeMaster (synchronous,
 * node-master.ts) or the ClusterMaster (PostgreSQL, cluster-master.ts).
 */
/** The W3C trace context of the submitting call, carried to the worker. */
export interface TaskTrace {
  traceparent: string;
  tracestate?: string;
}

export interface TaskMaster {
  submit(req: SubmitTaskRequest, trace?: TaskTrace): MaybePromise<Task>;
  get(id: string): MaybePromise<Task | undefined>;
  list(filter: TaskFilter): MaybePromise<TaskPage>;
  cancel(id: string, reason: string): MaybePromise<Task>;
  /** `afterSequence` > 0 resumes a watch after that change (cluster mode). */
  watch(taskId: string, sendInitial: boolean, afterSequence: bigint): MaybePromise<Watcher>;
  nodes(): MaybePromise<Node[]>;
  connect(req: AssignTaskRequest): MaybePromise<WorkerSession>;
  disconnect(s: WorkerSession, reason: string, requeue: boolean): MaybePromise<void>;
  heartbeat(req: ReportStatusRequest): MaybePromise<void>;
  start(workerId: string, taskId: string, attempt: number): MaybePromise<void>;
  finish(req: FinishTaskRequest): MaybePromise<void>;
  close(): MaybePromise<void>;
}
