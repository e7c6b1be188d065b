import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { create } from "@bufbuild/protobuf";
import { NodeSchema, NodeStatus, TaskSchema, TaskState } from "../../../gen/node/v1/node_pb.js";
import { SqliteTaskStore } from "./sqlite-task-store.ts";

const S = TaskState;

test("list: newest first, filtered by states and worker, paged by cursor; unfinished in submission order", (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), "task-store-test-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const store = new SqliteTaskStore(dir);
  t.after(() => store.close());
  const rows: Array<[string, TaskState, string]> = [
    ["t1", S.SUCCEEDED, "w1"],
    ["t2", S.QUEUED, ""],
    ["t3", S.RUNNING, "w2"],
    ["t4", S.FAILED, "w1"],
    ["t5", S.ASSIGNED, "w1"],
  ];
  for (const [id, state, workerId] of rows) store.insert(create(TaskSchema, { id, state, workerId, command: { program: "echo" } }));

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
      const page = store.list({ states: c.states ?? [], workerId: c.workerId ?? "", before, limit: c.limit });
      pages.push(page.tasks.map((x) => x.id));
      before = page.next;
    } while (before !== undefined);
    assert.deepEqual(pages, c.want, c.name);
  }
  assert.deepEqual(store.unfinished().map((x) => x.id), ["t2", "t3", "t5"]);

  const t3 = store.get("t3")!;
  t3.state = S.SUCCEEDED;
  store.update(t3);
  assert.equal(store.get("t3")?.state, S.SUCCEEDED);
  assert.deepEqual(store.unfinished().map((x) => x.id), ["t2", "t5"]);
  assert.equal(store.get("nope"), undefined);
});

test("nodes and tasks survive reopening the database", (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), "task-store-test-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const first = new SqliteTaskStore(dir);
  first.insert(create(TaskSchema, { id: "a", state: S.QUEUED, labels: { zone: "a" } }));
  first.putNode(create(NodeSchema, { id: "w1", status: NodeStatus.ONLINE, capacity: 3 }));
  first.putNode(create(NodeSchema, { id: "w1", status: NodeStatus.OFFLINE, capacity: 4 }));
  first.close();
  const second = new SqliteTaskStore(dir);
  t.after(() => second.close());
  assert.deepEqual(second.get("a")?.labels, { zone: "a" });
  assert.deepEqual(second.nodes().map((n) => [n.id, n.status, n.capacity]), [["w1", NodeStatus.OFFLINE, 4]]);
});
