import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { NodeSchema, TaskSchema, TaskState, type Node, type Task } from "@switchboard/gen/node/v1/node_pb.js";
import type { PgDb, Queryable } from "../../db/pg-db.ts";
import type { TaskFilter, TaskPage, TaskStore } from "../task-store.ts";

/** Final states, as SQL list. */
export const finalStatesSql = [TaskState.SUCCEEDED, TaskState.FAILED, TaskState.CANCELLED].join(",");
/** ASSIGNED and RUNNING, as SQL list. */
export const activeStatesSql = [TaskState.ASSIGNED, TaskState.RUNNING].join(",");

export const decodeTask = (data: Uint8Array): Task => fromBinary(TaskSchema, data);
export const decodeNode = (data: Uint8Array): Node => fromBinary(NodeSchema, data);

/** INSERT of a new task row (used by the store and by the cluster master inside its transactions). */
export async function insertTask(c: Queryable, task: Task): Promise<void> {
  await c.query("INSERT INTO tasks (id, state, worker_id, attempt, labels, data) VALUES ($1, $2, $3, $4, $5, $6)", [
    task.id,
    task.state,
    task.workerId,
    task.attempt,
    JSON.stringify(task.labels),
    toBinary(TaskSchema, task),
  ]);
}

/** UPDATE of a task row from the Task message. */
export async function updateTask(c: Queryable, task: Task): Promise<void> {
  await c.query("UPDATE tasks SET state = $2, worker_id = $3, attempt = $4, data = $5 WHERE id = $1", [
    task.id,
    task.state,
    task.workerId,
    task.attempt,
    toBinary(TaskSchema, task),
  ]);
}

/**
 * TaskStore on PostgreSQL (cluster mode): the tables of
 * server/src/db/migrations, shared by every instance. The cluster master
 * (cluster-master.ts, cluster/) adds the transactional operations (claims, attempts,
 * events) on the same rows.
 */
export class PgTaskStore implements TaskStore {
  readonly #db: PgDb;

  constructor(db: PgDb) {
    this.#db = db;
  }

  async insert(task: Task): Promise<void> {
    await insertTask(this.#db, task);
  }

  async update(task: Task): Promise<void> {
    await updateTask(this.#db, task);
  }

  async get(id: string): Promise<Task | undefined> {
    const r = await this.#db.query<{ data: Uint8Array }>("SELECT data FROM tasks WHERE id = $1", [id]);
    return r.rows[0] ? decodeTask(r.rows[0].data) : undefined;
  }

  async list(filter: TaskFilter): Promise<TaskPage> {
    const r = await this.#db.query<{ seq: string; data: Uint8Array }>(
      `SELECT seq, data FROM tasks
       WHERE seq < $3
         AND (cardinality($1::int[]) = 0 OR state = ANY($1::int[]))
         AND ($2 = '' OR worker_id = $2)
       ORDER BY seq DESC LIMIT $4`,
      [filter.states, filter.workerId, filter.before ?? Number.MAX_SAFE_INTEGER, filter.limit + 1],
    );
    const more = r.rows.length > filter.limit;
    const page = r.rows.slice(0, filter.limit);
    return {
      tasks: page.map((row) => decodeTask(row.data)),
      next: more ? Number(page[page.length - 1]!.seq) : undefined,
    };
  }

  async unfinished(): Promise<Task[]> {
    const r = await this.#db.query<{ data: Uint8Array }>(
      `SELECT data FROM tasks WHERE state NOT IN (${finalStatesSql}) ORDER BY seq`,
    );
    return r.rows.map((row) => decodeTask(row.data));
  }

  async putNode(node: Node): Promise<void> {
    await this.#db.query(
      "INSERT INTO nodes (id, data) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET data = excluded.data",
      [node.id, toBinary(NodeSchema, node)],
    );
  }

  async nodes(): Promise<Node[]> {
    const r = await this.#db.query<{ data: Uint8Array }>("SELECT data FROM nodes ORDER BY id");
    return r.rows.map((row) => decodeNode(row.data));
  }

  async close(): Promise<void> {
    // The pool belongs to the server.
  }
}
