import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import {
  CombinedShipmentSchema,
  OrderService,
  type CombinedShipment,
  type Order,
} from "@switchboard/gen/order/v1/order_pb.js";
import { untilAborted } from "../abortable.ts";
import { abortReason, invalidArgument } from "../errors.ts";
import type { OrderStore } from "./order-store.ts";
import { validateOrder, validateOrderId } from "./validate.ts";

/** Ids per ProcessOrders batch: shipments are sent every this many ids. */
export const shipmentBatchSize = 3;
/** Orders read from the store per page while streaming a search. */
const searchPageSize = 256;
/** Most orders one UpdateOrders call may carry (they are applied atomically). */
export const maxOrdersPerUpdate = 10_000;

/** order.v1.OrderService on top of an OrderStore. */
export function orderService(store: OrderStore): Partial<ServiceImpl<typeof OrderService>> {
  const mustGet = async (id: string, field: string): Promise<Order> => {
    const violations = validateOrderId(id, field);
    if (violations.length > 0) throw invalidArgument("invalid order id", violations);
    const order = await store.get(id);
    if (!order) throw new ConnectError(`order "${id}" not found`, Code.NotFound);
    return order;
  };

  return {
    async addOrder(req) {
      const violations = validateOrder(req.order);
      if (violations.length > 0) throw invalidArgument("invalid order", violations);
      if (!(await store.add(req.order!))) {
        throw new ConnectError(`order "${req.order!.id}" already exists`, Code.AlreadyExists);
      }
      return { id: req.order!.id };
    },

    async getOrder(req) {
      return { order: await mustGet(req.id, "id") };
    },

    async updateOrder(req) {
      const violations = validateOrder(req.order);
      if (violations.length > 0) throw invalidArgument("invalid order", violations);
      // One replacement in the store's transaction: the id must exist.
      const missing = await store.replaceAll([req.order!]);
      if (missing !== undefined) throw new ConnectError(`order "${missing}" not found`, Code.NotFound);
      return { order: req.order };
    },

    async *searchOrders(req, ctx) {
      const query = req.query.toLowerCase();
      let after = "";
      for (;;) {
        const page = await store.page(after, searchPageSize);
        for (const order of page) {
          if (ctx.signal.aborted) throw abortReason(ctx.signal);
          if (query === "" || order.items.some((i) => i.toLowerCase().includes(query))) {
            yield { order };
          }
        }
        if (page.length < searchPageSize) return;
        after = page[page.length - 1]!.id;
      }
    },

    async updateOrders(reqs, ctx) {
      // Validated as they arrive, applied together when the client half-closes:
      // the call changes all of its orders or none.
      const orders: Order[] = [];
      const seen = new Set<string>();
      for await (const req of untilAborted(reqs, ctx.signal)) {
        const i = orders.length;
        const violations = validateOrder(req.order, `order`);
        if (violations.length > 0) {
          throw invalidArgument(`invalid order #${i} of the stream; no order was updated`, violations);
        }
        const order = req.order!;
        if (!seen.has(order.id) && (await store.get(order.id)) === undefined) {
          throw new ConnectError(`order "${order.id}" not found; no order was updated`, Code.NotFound);
        }
        if (orders.length >= maxOrdersPerUpdate) {
          throw new ConnectError(
            `at most ${maxOrdersPerUpdate} orders per UpdateOrders call; no order was updated`,
            Code.ResourceExhausted,
          );
        }
        seen.add(order.id);
        orders.push(order);
      }
      await confirmHalfClose(ctx.signal);
      const missing = await store.replaceAll(orders);
      if (missing !== undefined) {
        throw new ConnectError(`order "${missing}" not found; no order was updated`, Code.NotFound);
      }
      return { ids: orders.map((o) => o.id) };
    },

    async *processOrders(reqs, ctx) {
      let batch = new Map<string, CombinedShipment>();
      let inBatch = 0;
      let batchNo = 1;
      const flush = function* () {
        for (const shipment of batch.values()) yield { shipment };
        batch = new Map();
        inBatch = 0;
        batchNo++;
      };
      for await (const req of untilAborted(reqs, ctx.signal)) {
        const order = await mustGet(req.orderId, "order_id");
        let shipment = batch.get(order.destination);
        if (!shipment) {
          shipment = create(CombinedShipmentSchema, {
            id: `cmb-${batchNo}-${slug(order.destination)}`,
            status: "Processed!",
          });
          batch.set(order.destination, shipment);
        }
        shipment.orders.push(order);
        if (++inBatch === shipmentBatchSize) yield* flush();
      }
      await confirmHalfClose(ctx.signal);
      if (inBatch > 0) yield* flush();
    },
  };
}

/**
 * Node's http2 layer ends a request body cleanly when the client resets the
 * stream (cancel, deadline) and reports the reset — which aborts ctx.signal —
 * only a couple of event-loop turns later (its stream-close callbacks are
 * queued immediates), so a cancelled call's request stream looks exactly like
 * a half-close. Waiting a few turns before acting on the end of the stream
 * lets the abort arrive first: a cancelled UpdateOrders then commits nothing,
 * and a cancelled ProcessOrders does not report OK. Measured on Node 24: the
 * abort arrives on the 2nd turn; 3 leaves a margin. Costs once per call.
 */
const halfCloseTurns = 3;
async function confirmHalfClose(signal: AbortSignal): Promise<void> {
  for (let i = 0; i < halfCloseTurns && !signal.aborted; i++) {
    await new Promise((resolve) => setImmediate(resolve));
  }
  if (signal.aborted) throw abortReason(signal);
}

function slug(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "");
}
