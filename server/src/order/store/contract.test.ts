// The OrderStore contract, run against both implementations (SQLite and
// PostgreSQL): one table of cases, one suite per backend.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { OrderSchema } from "@switchboard/gen/order/v1/order_pb.js";
import { backends, type Backend } from "../../db/test-backends.ts";
import type { OrderStore } from "../order-store.ts";
import { PgOrderStore } from "./postgres.ts";
import { SqliteOrderStore } from "./sqlite.ts";

type T = { after(fn: () => unknown): void };

async function withStore(backend: Backend, t: T): Promise<{ store: OrderStore; reopen(): Promise<OrderStore> }> {
  const place = await backend.fresh(t);
  const open = async (p: { dir: string; db?: import("../../db/pg-db.ts").PgDb }): Promise<OrderStore> => {
    const s = p.db ? await PgOrderStore.open(p.db) : new SqliteOrderStore(p.dir);
    t.after(() => s.close());
    return s;
  };
  return { store: await open(place), reopen: async () => open(await place.reopen()) };
}

const order = (id: string, patch: Record<string, unknown> = {}) =>
  create(OrderSchema, { id, items: [`item ${id}`], destination: "Here", priceCents: 100n, ...patch });

for (const backend of backends()) {
  describe(`OrderStore on ${backend.name}`, () => {
    test("a new store is seeded with orders 102–106 exactly once", async (t) => {
      const { store, reopen } = await withStore(backend, t);
      assert.deepEqual((await store.page("", 100)).map((o) => o.id), ["102", "103", "104", "105", "106"]);
      assert.equal((await store.get("102"))?.priceCents, 180000n);
      await store.replaceAll([order("102")]);
      await store.close();
      const reopened = await reopen();
      assert.equal((await reopened.page("", 100)).length, 5);
      assert.deepEqual((await reopened.get("102"))?.items, ["item 102"], "the seed did not overwrite the update");
    });

    test("add: stores, refuses a duplicate without changing it, round-trips every field", async (t) => {
      const { store } = await withStore(backend, t);
      const o = order("a-1", { items: ["x", "y, z", 'quote "q"', "ünï"], description: "d", priceCents: 2n ** 60n });
      assert.equal(await store.add(o), true);
      assert.deepEqual(await store.get("a-1"), o);
      assert.equal(await store.add(order("a-1", { items: ["other"] })), false);
      assert.deepEqual((await store.get("a-1"))?.items, ["x", "y, z", 'quote "q"', "ünï"]);
      assert.equal(await store.get("missing"), undefined);
      const negative = order("neg", { priceCents: -(2n ** 63n) });
      assert.equal(await store.add(negative), true);
      assert.equal((await store.get("neg"))?.priceCents, -(2n ** 63n));
    });

    const pageCases = [
      { after: "", limit: 2, want: ["102", "103"] },
      { after: "103", limit: 2, want: ["104", "105"] },
      { after: "105", limit: 10, want: ["106", "A", "a", "ä"] },
      { after: "a", limit: 10, want: ["ä"] },
      { after: "ä", limit: 10, want: [] },
      { after: "", limit: 0, want: [] },
    ];
    for (const c of pageCases) {
      test(`page(after "${c.after}", limit ${c.limit}) → ${c.want.join(",") || "nothing"} (bytewise id order)`, async (t) => {
        const { store } = await withStore(backend, t);
        for (const id of ["ä", "a", "A"]) await store.add(order(id));
        assert.deepEqual((await store.page(c.after, c.limit)).map((o) => o.id), c.want);
      });
    }

    test("replaceAll is atomic: one unknown id changes nothing and is reported", async (t) => {
      const { store } = await withStore(backend, t);
      const missing = await store.replaceAll([order("102", { items: ["new"] }), order("nope"), order("103", { items: ["new"] })]);
      assert.equal(missing, "nope");
      assert.deepEqual((await store.get("102"))?.items, ["Google Pixel 3A", "Mac Book Pro"]);
      assert.deepEqual((await store.get("103"))?.items, ["Apple Watch S4"]);
      assert.equal(await store.replaceAll([order("102", { items: ["new"] }), order("103", { items: ["newer"] })]), undefined);
      assert.deepEqual([(await store.get("102"))?.items, (await store.get("103"))?.items], [["new"], ["newer"]]);
    });

    test("replaceAll applies repeated ids in stream order (the last wins)", async (t) => {
      const { store } = await withStore(backend, t);
      assert.equal(await store.replaceAll([order("104", { items: ["first"] }), order("104", { items: ["second"] })]), undefined);
      assert.deepEqual((await store.get("104"))?.items, ["second"]);
    });
  });
}
