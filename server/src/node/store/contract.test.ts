// The TaskStore contract, run against both implementations (SQLite and
// PostgreSQL): the same cases, one suite per backend.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { NodeSchema, NodeStatus, TaskSchema, TaskState } from "@switchboard/gen/node/v1/node_pb.js";
import { backends, type Backend } from "../../db/test-backends.ts";
import type { PgDb } from "../../db/pg-db.ts";
import type { TaskStore } from "../task-store.ts";
import { PgTaskStore } from "./postgres.ts";
import { SqliteTaskStore } from "./sqlite.ts";

const S = TaskState;
type T = { after(fn: () => unknown): void };

async function withStore(backend: Backend, t: T): Promise<{ store: TaskStore; reopen(): Promise<TaskStore> }> {
  const place = await backend.fresh(t);
  const open = (p: { dir: string; db?: PgDb }): TaskStore => {
    const s = p.db ? new PgTaskStore(p.db) : new SqliteTaskStore(p.dir);
    t.after(() => s.close());
    return s;
  };
  return { store: open(place), reopen: async () => open(await place.reopen()) };
}

for (const backend of backends()) {
  describe(`TaskStore on ${backend.name}`, () => {
    test("list: newest first, filtered by states and worker, paged by cursor; unfinished in submission order", async (t) => {
      const { store } = await withStore(backend, t);
      const rows: Array<[string, TaskState, string]> = [
        ["t1", S.SUCCEEDED, "w1"],
        ["t2", S.QUEUED, ""],
        ["t3", S.RUNNING, "w2"],
        ["t4", S.FAILED, "w1"],
        ["t5", S.ASSIGNED, "w1"],
      ];
      for (const [id, state, workerId] of rows) {
        await store.insert(create(TaskSchema, { id, state, workerId, command: { program: "echo" } }));
      }
      const table: Array<{ name: string; states?: TaskState[]; workerId?: string; limit: number; want: string[][] }> = [
        { name: "all", limit: 10, want: [["t5", "t4", "t3", "t2", "t1"]] },
        { name: "pages of two", limit: 2, want: [["t5", "t4"], ["t3", "t2"], ["t1"]] },
        { name: "states", states: [S.QUEUED, S.RUNNING], limit: 10, want: [["t3", "t2"]] },
        { name: "worker", workerId: "w1", limit: 1, want: [["t5"], ["t4"], ["t1"]] },
        { name: "worker and state", workerId: "w1", states: [S.FAILED], limit: 10, want: [["t4"]] },
        { name: "nothing", states: [S.CANCELLED], limit: 10, want: [[]] },
      ];
      for (const c of table) {
        const pages: string[][] = [];
        let before: number | undefined;
        do {
          const page = await store.list({ states: c.states ?? [], workerId: c.workerId ?? "", before, limit: c.limit });
          pages.push(page.tasks.map((x) => x.id));
          before = page.next;
        } while (before !== undefined);
        assert.deepEqual(pages, c.want, c.name);
      }
      assert.deepEqual((await store.unfinished()).map((x) => x.id), ["t2", "t3", "t5"]);

      const t3 = (await store.get("t3"))!;
      t3.state = S.SUCCEEDED;
      await store.update(t3);
      assert.equal((await store.get("t3"))?.state, S.SUCCEEDED);
      assert.deepEqual((await store.unfinished()).map((x) => x.id), ["t2", "t5"]);
      assert.equal(await store.get("nope"), undefined);
    });

    test("a duplicate task id is refused", async (t) => {
      const { store } = await withStore(backend, t);
      await store.insert(create(TaskSchema, { id: "dup", state: S.QUEUED }));
      await assert.rejects(store.insert(create(TaskSchema, { id: "dup", state: S.QUEUED })));
      assert.equal((await store.list({ states: [], workerId: "", limit: 10 })).tasks.length, 1);
    });

    test("nodes and tasks survive reopening the database; nodes come back by id", async (t) => {
      const { store: first, reopen } = await withStore(backend, t);
      await first.insert(create(TaskSchema, { id: "a", state: S.QUEUED, labels: { zone: "a" } }));
      await first.putNode(create(NodeSchema, { id: "w2", status: NodeStatus.ONLINE, capacity: 1 }));
      await first.putNode(create(NodeSchema, { id: "w1", status: NodeStatus.ONLINE, capacity: 3 }));
      await first.putNode(create(NodeSchema, { id: "w1", status: NodeStatus.OFFLINE, capacity: 4 }));
      await first.close();
      const second = await reopen();
      assert.deepEqual((await second.get("a"))?.labels, { zone: "a" });
      assert.deepEqual(
        (await second.nodes()).map((n) => [n.id, n.status, n.capacity]),
        [["w1", NodeStatus.OFFLINE, 4], ["w2", NodeStatus.ONLINE, 1]],
      );
    });
  });
}
