import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { create } from "@bufbuild/protobuf";
import { OrderSchema } from "../../../gen/order/v1/order_pb.js";
import { SqliteOrderStore } from "./sqlite-order-store.ts";

function withStore(t: { after(fn: () => void): void }): { store: SqliteOrderStore; dir: string } {
  const dir = mkdtempSync(path.join(tmpdir(), "order-store-"));
  const store = new SqliteOrderStore(dir);
  t.after(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { store, dir };
}

const order = (id: string, patch: Record<string, unknown> = {}) =>
  create(OrderSchema, { id, items: [`item ${id}`], destination: "Here", priceCents: 100n, ...patch });

test("a new store is seeded with orders 102–106 exactly once", (t) => {
  const { store, dir } = withStore(t);
  assert.deepEqual(store.page("", 100).map((o) => o.id), ["102", "103", "104", "105", "106"]);
  assert.equal(store.get("102")?.priceCents, 180000n);
  store.replaceAll([order("102")]);
  store.close();
  const reopened = new SqliteOrderStore(dir);
  t.after(() => reopened.close());
  assert.equal(reopened.page("", 100).length, 5);
  assert.deepEqual(reopened.get("102")?.items, ["item 102"], "the seed did not overwrite the update");
});

test("add: stores, refuses a duplicate without changing it, round-trips every field", (t) => {
  const { store } = withStore(t);
  const o = order("a-1", { items: ["x", "y, z", 'quote "q"'], description: "d", priceCents: 2n ** 60n });
  assert.equal(store.add(o), true);
  assert.deepEqual(store.get("a-1"), o);
  assert.equal(store.add(order("a-1", { items: ["other"] })), false);
  assert.deepEqual(store.get("a-1")?.items, ["x", "y, z", 'quote "q"']);
  assert.equal(store.get("missing"), undefined);
});

const pageCases = [
  { after: "", limit: 2, want: ["102", "103"] },
  { after: "103", limit: 2, want: ["104", "105"] },
  { after: "105", limit: 10, want: ["106", "a"] },
  { after: "a", limit: 10, want: [] },
  { after: "", limit: 0, want: [] },
];
for (const c of pageCases) {
  test(`page(after "${c.after}", limit ${c.limit}) → ${c.want.join(",") || "nothing"}`, (t) => {
    const { store } = withStore(t);
    store.add(order("a"));
    assert.deepEqual(store.page(c.after, c.limit).map((o) => o.id), c.want);
  });
}

test("replaceAll is atomic: one unknown id changes nothing and is reported", (t) => {
  const { store } = withStore(t);
  const missing = store.replaceAll([order("102", { items: ["new"] }), order("nope"), order("103", { items: ["new"] })]);
  assert.equal(missing, "nope");
  assert.deepEqual(store.get("102")?.items, ["Google Pixel 3A", "Mac Book Pro"]);
  assert.deepEqual(store.get("103")?.items, ["Apple Watch S4"]);
  assert.equal(store.replaceAll([order("102", { items: ["new"] }), order("103", { items: ["newer"] })]), undefined);
  assert.deepEqual([store.get("102")?.items, store.get("103")?.items], [["new"], ["newer"]]);
});

test("replaceAll applies repeated ids in stream order (the last wins)", (t) => {
  const { store } = withStore(t);
  assert.equal(store.replaceAll([order("104", { items: ["first"] }), order("104", { items: ["second"] })]), undefined);
  assert.deepEqual(store.get("104")?.items, ["second"]);
});
