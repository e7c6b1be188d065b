import type { Node, Task, TaskState } from "../../../gen/node/v1/node_pb.js";

/** A page of tasks, newest first. */
export interface TaskPage {
  tasks: Task[];
  /** Cursor for the next page; undefined on the last page. */
  next?: number;
}

/** Where the master keeps tasks and nodes. Writes are durable when they return. */
export interface TaskStore {
  insert(task: Task): void;
  update(task: Task): void;
  get(id: string): Task | undefined;
  /** Tasks newest first, optionally filtered, starting below cursor `before`. */
  list(filter: { states: TaskState[]; workerId: string; before?: number; limit: number }): TaskPage;
  /** Every task not in a final state, in submission order. */
  unfinished(): Task[];
  putNode(node: Node): void;
  nodes(): Node[];
  close(): void;
}
