import { DatabaseSync, type StatementSync } from "node:sqlite";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { NodeSchema, TaskSchema, TaskState, type Node, type Task } from "@switchboard/gen/node/v1/node_pb.js";
import type { SyncTaskStore, TaskFilter, TaskPage, TaskStore } from "../task-store.ts";

const finalStates = [TaskState.SUCCEEDED, TaskState.FAILED, TaskState.CANCELLED];

/**
 * TaskStore on node:sqlite in `<dataDir>/nodes.db` (WAL, synchronous=FULL:
 * a state change that returned survives a crash). Each task is one row: the
 * Task message in protobuf binary plus the columns queries filter on; `seq`
 * orders tasks by submission.
 */
class SqliteTaskDb implements SyncTaskStore {
  readonly #db: DatabaseSync;
  readonly #insert: StatementSync;
  readonly #update: StatementSync;
  readonly #get: StatementSync;
  readonly #list: StatementSync;
  readonly #unfinished: StatementSync;
  readonly #putNode: StatementSync;
  readonly #nodes: StatementSync;

  constructor(dataDir: string) {
    mkdirSync(dataDir, { recursive: true });
    this.#db = new DatabaseSync(path.join(dataDir, "nodes.db"));
    this.#db.exec(`
      PRAGMA journal_mode = WAL;
      PRAGMA synchronous = FULL;
      PRAGMA busy_timeout = 5000;
      CREATE TABLE IF NOT EXISTS tasks (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        state INTEGER NOT NULL,
        worker_id TEXT NOT NULL,
        data BLOB NOT NULL
      );
      CREATE INDEX IF NOT EXISTS tasks_state ON tasks (state, seq);
      CREATE INDEX IF NOT EXISTS tasks_worker ON tasks (worker_id, seq);
      CREATE TABLE IF NOT EXISTS nodes (id TEXT PRIMARY KEY, data BLOB NOT NULL) WITHOUT ROWID;
    `);
    this.#insert = this.#db.prepare("INSERT INTO tasks (id, state, worker_id, data) VALUES (?, ?, ?, ?)");
    this.#update = this.#db.prepare("UPDATE tasks SET state = ?, worker_id = ?, data = ? WHERE id = ?");
    this.#get = this.#db.prepare("SELECT data FROM tasks WHERE id = ?");
    // ?1 = JSON array of states ([] = any), ?2 = worker id ('' = any), ?3 = cursor, ?4 = limit.
    this.#list = this.#db.prepare(`
      SELECT seq, data FROM tasks
      WHERE seq < ?3
        AND (json_array_length(?1) = 0 OR state IN (SELECT value FROM json_each(?1)))
        AND (?2 = '' OR worker_id = ?2)
      ORDER BY seq DESC LIMIT ?4`);
    this.#unfinished = this.#db.prepare(
      `SELECT data FROM tasks WHERE state NOT IN (${finalStates.join(",")}) ORDER BY seq`,
    );
    this.#putNode = this.#db.prepare(
      "INSERT INTO nodes (id, data) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET data = excluded.data",
    );
    this.#nodes = this.#db.prepare("SELECT data FROM nodes ORDER BY id");
  }

  insert(task: Task): void {
    this.#insert.run(task.id, task.state, task.workerId, toBinary(TaskSchema, task));
  }

  update(task: Task): void {
    this.#update.run(task.state, task.workerId, toBinary(TaskSchema, task), task.id);
  }

  get(id: string): Task | undefined {
    const row = this.#get.get(id) as { data: Uint8Array } | undefined;
    return row ? fromBinary(TaskSchema, row.data) : undefined;
  }

  list(filter: TaskFilter): TaskPage {
    const rows = this.#list.all(
      JSON.stringify(filter.states),
      filter.workerId,
      filter.before ?? Number.MAX_SAFE_INTEGER,
      filter.limit + 1,
    ) as Array<{ seq: number; data: Uint8Array }>;
    const more = rows.length > filter.limit;
    const page = rows.slice(0, filter.limit);
    return {
      tasks: page.map((r) => fromBinary(TaskSchema, r.data)),
      next: more ? page[page.length - 1]!.seq : undefined,
    };
  }

  unfinished(): Task[] {
    return (this.#unfinished.all() as Array<{ data: Uint8Array }>).map((r) => fromBinary(TaskSchema, r.data));
  }

  putNode(node: Node): void {
    this.#putNode.run(node.id, toBinary(NodeSchema, node));
  }

  nodes(): Node[] {
    return (this.#nodes.all() as Array<{ data: Uint8Array }>).map((r) => fromBinary(NodeSchema, r.data));
  }

  close(): void {
    if (this.#db.isOpen) this.#db.close();
  }
}

/**
 * TaskStore on node:sqlite in `<dataDir>/nodes.db`. The embedded master uses
 * the synchronous face (`sync`); the promise methods are the TaskStore
 * contract shared with PostgreSQL.
 */
export class SqliteTaskStore implements TaskStore {
  readonly sync: SyncTaskStore;

  constructor(dataDir: string) {
    this.sync = new SqliteTaskDb(dataDir);
  }

  async insert(task: Task): Promise<void> {
    this.sync.insert(task);
  }
  async update(task: Task): Promise<void> {
    this.sync.update(task);
  }
  async get(id: string): Promise<Task | undefined> {
    return this.sync.get(id);
  }
  async list(filter: TaskFilter): Promise<TaskPage> {
    return this.sync.list(filter);
  }
  async unfinished(): Promise<Task[]> {
    return this.sync.unfinished();
  }
  async putNode(node: Node): Promise<void> {
    this.sync.putNode(node);
  }
  async nodes(): Promise<Node[]> {
    return this.sync.nodes();
  }
  async close(): Promise<void> {
    this.sync.close();
  }
}
