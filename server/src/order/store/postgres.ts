import type { Order } from "@switchboard/gen/order/v1/order_pb.js";
import type { PgDb } from "../../db/pg-db.ts";
import type { OrderStore } from "../order-store.ts";
import { seedOrders } from "../seed.ts";
import { toOrder, type Row } from "./sqlite.ts";

const insertSql =
  "INSERT INTO orders (id, items, description, price_cents, destination) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING";

/**
 * OrderStore on PostgreSQL (cluster mode): every instance reads and writes the
 * same rows, so there is no read cache (another instance may have written).
 * Seeds orders 102–106 once per database (a `meta` row claims the seeding in
 * the same transaction, so instances starting at once seed it once).
 */
export class PgOrderStore implements OrderStore {
  readonly #db: PgDb;

  private constructor(db: PgDb) {
    this.#db = db;
  }

  static async open(db: PgDb): Promise<PgOrderStore> {
    await db.tx(async (c) => {
      const claimed = await c.query(
        "INSERT INTO meta (key, value) VALUES ('orders_seeded', $1) ON CONFLICT (key) DO NOTHING",
        [new Date().toISOString()],
      );
      if (claimed.rowCount !== 1) return;
      for (const o of seedOrders()) await c.query(insertSql, params(o));
    });
    return new PgOrderStore(db);
  }

  async add(order: Order): Promise<boolean> {
    return (await this.#db.query(insertSql, params(order))).rowCount === 1;
  }

  async get(id: string): Promise<Order | undefined> {
    const r = await this.#db.query<Row>("SELECT * FROM orders WHERE id = $1", [id]);
    return r.rows[0] ? toOrder(r.rows[0]) : undefined;
  }

  async page(afterId: string, limit: number): Promise<Order[]> {
    const r = await this.#db.query<Row>("SELECT * FROM orders WHERE id > $1 ORDER BY id LIMIT $2", [afterId, limit]);
    return r.rows.map(toOrder);
  }

  async replaceAll(orders: Order[]): Promise<string | undefined> {
    try {
      await this.#db.tx(async (c) => {
        for (const o of orders) {
          const r = await c.query(
            "UPDATE orders SET items = $2, description = $3, price_cents = $4, destination = $5 WHERE id = $1",
            params(o),
          );
          // Thrown to roll back the updates so far: the call changes all or nothing.
          if (r.rowCount !== 1) throw new MissingOrder(o.id);
        }
      });
      return undefined;
    } catch (err) {
      if (err instanceof MissingOrder) return err.id;
      throw err;
    }
  }

  async close(): Promise<void> {
    // The pool belongs to the server (shared with the task master).
  }
}

class MissingOrder extends Error {
  readonly id: string;
  constructor(id: string) {
    super(`order ${id} not found`);
    this.id = id;
  }
}

function params(o: Order): unknown[] {
  return [o.id, JSON.stringify(o.items), o.description, o.priceCents.toString(), o.destination];
}
