import type { Order } from "@switchboard/gen/order/v1/order_pb.js";

/**
 * Where orders live: the embedded SQLite store (store/sqlite.ts, the default)
 * or PostgreSQL (store/postgres.ts, `--postgres`, shared by every instance).
 * Every method resolves once its effect is durable.
 */
export interface OrderStore {
  /** Stores a new order; false when the id exists (nothing changes). */
  add(order: Order): Promise<boolean>;
  /** The order with this id, or undefined. The result may be frozen: do not modify it. */
  get(id: string): Promise<Order | undefined>;
  /** Up to `limit` orders with ids greater than `afterId`, ordered by id (bytewise). */
  page(afterId: string, limit: number): Promise<Order[]>;
  /**
   * Replaces every order in one transaction, in list order (a repeated id:
   * the last wins). Returns the first id that does not exist (and changes
   * nothing), or undefined on success.
   */
  replaceAll(orders: Order[]): Promise<string | undefined>;
  close(): Promise<void>;
}
