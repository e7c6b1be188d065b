import { DatabaseSync, type StatementSync } from "node:sqlite";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { create } from "@bufbuild/protobuf";
import { OrderSchema, type Order } from "@switchboard/gen/order/v1/order_pb.js";
import type { OrderStore } from "../order-store.ts";
import { seedOrders } from "../seed.ts";

/** An orders row (both stores use the same columns). */
export interface Row {
  id: string;
  items: string;
  description: string;
  price_cents: number | bigint | string;
  destination: string;
}

/**
 * OrderStore on node:sqlite, in `<dataDir>/orders.db`. WAL journal with
 * synchronous=FULL: a write that returned survives a process kill and a
 * power loss. Seeds orders 102–106 the first time the database is created.
 */
export class SqliteOrderStore implements OrderStore {
  readonly #db: DatabaseSync;
  readonly #insert: StatementSync;
  readonly #select: StatementSync;
  readonly #page: StatementSync;
  readonly #update: StatementSync;
  readonly #cache = new Map<string, Order>();

  constructor(dataDir: string) {
    mkdirSync(dataDir, { recursive: true });
    this.#db = new DatabaseSync(path.join(dataDir, "orders.db"));
    this.#db.exec(`
      PRAGMA journal_mode = WAL;
      PRAGMA synchronous = FULL;
      PRAGMA busy_timeout = 5000;
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS orders (
        id TEXT PRIMARY KEY,
        items TEXT NOT NULL,
        description TEXT NOT NULL,
        price_cents INTEGER NOT NULL,
        destination TEXT NOT NULL
      ) WITHOUT ROWID;
    `);
    this.#insert = this.#db.prepare(
      "INSERT OR IGNORE INTO orders (id, items, description, price_cents, destination) VALUES (?, ?, ?, ?, ?)",
    );
    this.#select = this.#db.prepare("SELECT * FROM orders WHERE id = ?");
    this.#page = this.#db.prepare("SELECT * FROM orders WHERE id > ? ORDER BY id LIMIT ?");
    // int64 cents do not fit a JS number beyond 2^53.
    this.#select.setReadBigInts(true);
    this.#page.setReadBigInts(true);
    this.#update = this.#db.prepare(
      "UPDATE orders SET items = ?, description = ?, price_cents = ?, destination = ? WHERE id = ?",
    );
    this.#transaction(() => {
      const seeded = this.#db.prepare("SELECT value FROM meta WHERE key = 'seeded'").get();
      if (seeded) return;
      for (const o of seedOrders()) this.#addSync(o);
      this.#db.prepare("INSERT INTO meta (key, value) VALUES ('seeded', ?)").run(new Date().toISOString());
    });
  }

  async add(order: Order): Promise<boolean> {
    return this.#addSync(order);
  }

  #addSync(order: Order): boolean {
    const r = this.#insert.run(
      order.id,
      JSON.stringify(order.items),
      order.description,
      order.priceCents,
      order.destination,
    );
    return Number(r.changes) === 1;
  }

  /**
   * Reads go through an in-process cache of decoded orders (perf, issue 8: the
   * SQLite read and decoding were ~10% of the server's CPU for GetOrder). This
   * process is the only writer of its data dir, and every write below drops
   * what it changes. Cached orders are frozen: callers must not modify them.
   */
  async get(id: string): Promise<Order | undefined> {
    const hit = this.#cache.get(id);
    if (hit !== undefined) return hit;
    const row = this.#select.get(id) as Row | undefined;
    if (!row) return undefined;
    const order = toOrder(row);
    Object.freeze(order.items);
    Object.freeze(order);
    if (this.#cache.size >= maxCachedOrders) this.#cache.clear();
    this.#cache.set(id, order);
    return order;
  }

  async page(afterId: string, limit: number): Promise<Order[]> {
    return (this.#page.all(afterId, limit) as unknown as Row[]).map(toOrder);
  }

  async replaceAll(orders: Order[]): Promise<string | undefined> {
    for (const o of orders) this.#cache.delete(o.id);
    let missing: string | undefined;
    this.#transaction(() => {
      for (const o of orders) {
        const r = this.#update.run(JSON.stringify(o.items), o.description, o.priceCents, o.destination, o.id);
        if (Number(r.changes) !== 1) {
          missing = o.id;
          throw rollback;
        }
      }
    });
    return missing;
  }

  async close(): Promise<void> {
    if (this.#db.isOpen) this.#db.close();
  }

  #transaction(fn: () => void): void {
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      fn();
      this.#db.exec("COMMIT");
    } catch (err) {
      this.#db.exec("ROLLBACK");
      if (err !== rollback) throw err;
    }
  }
}

const rollback = Symbol("rollback");
/** Bound of the read cache (cleared when full; orders are small). */
const maxCachedOrders = 10_000;

export function toOrder(row: Row): Order {
  return create(OrderSchema, {
    id: row.id,
    items: JSON.parse(row.items) as string[],
    description: row.description,
    priceCents: BigInt(row.price_cents),
    destination: row.destination,
  });
}
