import type { Order } from "@switchboard/gen/order/v1/order_pb.js";
import type { FieldViolation } from "../errors.ts";

/** 1 to 64 letters, digits, '-' or '_'. */
export const orderIdPattern = /^[A-Za-z0-9_-]{1,64}$/;

/** Limits that keep one order small; documented in the README. */
export const orderLimits = { maxItems: 100, maxTextLength: 1000 } as const;

/** Checks an order id; `field` is the path used in the violation. */
export function validateOrderId(id: string, field: string): FieldViolation[] {
  if (id === "") return [{ field, description: "is required", reason: "REQUIRED" }];
  if (!orderIdPattern.test(id)) {
    return [{
      field,
      description: "must be 1 to 64 characters of letters, digits, '-' and '_'",
      reason: "INVALID_FORMAT",
    }];
  }
  return [];
}

/** Every problem with an order, as field violations under `prefix`. */
export function validateOrder(order: Order | undefined, prefix = "order"): FieldViolation[] {
  if (!order) return [{ field: prefix, description: "is required", reason: "REQUIRED" }];
  const v: FieldViolation[] = [...validateOrderId(order.id, `${prefix}.id`)];
  if (order.items.length === 0) {
    v.push({ field: `${prefix}.items`, description: "must have at least one item", reason: "REQUIRED" });
  } else if (order.items.length > orderLimits.maxItems) {
    v.push({ field: `${prefix}.items`, description: `must have at most ${orderLimits.maxItems} items`, reason: "TOO_LONG" });
  }
  order.items.forEach((item, i) => {
    if (item.trim() === "") {
      v.push({ field: `${prefix}.items[${i}]`, description: "must not be empty", reason: "REQUIRED" });
    } else if (item.length > orderLimits.maxTextLength) {
      v.push({ field: `${prefix}.items[${i}]`, description: `must be at most ${orderLimits.maxTextLength} characters`, reason: "TOO_LONG" });
    }
  });
  if (order.destination.trim() === "") {
    v.push({ field: `${prefix}.destination`, description: "is required", reason: "REQUIRED" });
  } else if (order.destination.length > orderLimits.maxTextLength) {
    v.push({ field: `${prefix}.destination`, description: `must be at most ${orderLimits.maxTextLength} characters`, reason: "TOO_LONG" });
  }
  if (order.description.length > orderLimits.maxTextLength) {
    v.push({ field: `${prefix}.description`, description: `must be at most ${orderLimits.maxTextLength} characters`, reason: "TOO_LONG" });
  }
  if (order.priceCents < 0n) {
    v.push({ field: `${prefix}.price_cents`, description: "must not be negative", reason: "OUT_OF_RANGE" });
  }
  return v;
}
