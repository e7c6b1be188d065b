import type { Node, Task, TaskState } from "@switchboard/gen/node/v1/node_pb.js";

/** A page of tasks, newest first. */
export interface TaskPage {
  tasks: Task[];
  /** Cursor for the next page; undefined on the last page. */
  next?: number;
}

/** Filter of `list`. */
export interface TaskFilter {
  /** Only these states; empty = any. */
  states: TaskState[];
  /** Only tasks last assigned to this worker; "" = any. */
  workerId: string;
  /** Cursor from a previous page. */
  before?: number;
  limit: number;
}

/**
 * Where tasks and nodes are kept: the embedded SQLite store (store/sqlite.ts,
 * the default) or PostgreSQL (store/postgres.ts, cluster mode). Every method
 * resolves once its write is durable.
 */
export interface TaskStore {
  insert(task: Task): Promise<void>;
  update(task: Task): Promise<void>;
  get(id: string): Promise<Task | undefined>;
  /** Tasks newest first, optionally filtered, starting below cursor `before`. */
  list(filter: TaskFilter): Promise<TaskPage>;
  /** Every task not in a final state, in submission order. */
  unfinished(): Promise<Task[]>;
  putNode(node: Node): Promise<void>;
  /** Every node, by id. */
  nodes(): Promise<Node[]>;
  close(): Promise<void>;
}

/**
 * The same operations, synchronous: the embedded master (node-master.ts) makes
 * each RPC's effect one synchronous step — store write included — that no
 * other call interleaves with, which only an in-process store can offer.
 */
export type SyncTaskStore = {
  [K in keyof TaskStore]: TaskStore[K] extends (...a: infer A) => Promise<infer R> ? (...a: A) => R : never;
};
