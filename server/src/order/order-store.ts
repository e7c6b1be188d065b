import type { Order } from "../../../gen/order/v1/order_pb.js";

/**
 * Where orders live. The server ships an embedded SQLite implementation; a
 * shared database only needs another implementation of this interface.
 */
export interface OrderStore {
  /** Stores a new order; returns false when the id exists (nothing changes). */
  add(order: Order): boolean;
  /** The order with this id, or undefined. */
  get(id: string): Order | undefined;
  /** Up to `limit` orders with ids greater than `afterId`, ordered by id. */
  page(afterId: string, limit: number): Order[];
  /**
   * Replaces every order in one transaction. Returns the first id that does
   * not exist (and changes nothing), or undefined on success.
   */
  replaceAll(orders: Order[]): string | undefined;
  close(): void;
}
