import { test } from "node:test";
import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { OrderSchema, type Order } from "@switchboard/gen/order/v1/order_pb.js";
import { orderLimits, validateOrder, validateOrderId } from "./validate.ts";

const good = { id: "ord_1-A", items: ["Pen"], destination: "Oslo", priceCents: 0n, description: "" };
const order = (patch: Partial<typeof good> & { items?: string[] }): Order => create(OrderSchema, { ...good, ...patch });

const cases: Array<{ name: string; order: Order | undefined; want: Array<[string, string]> }> = [
  { name: "valid (price 0, empty description)", order: order({}), want: [] },
  { name: "missing order", order: undefined, want: [["order", "REQUIRED"]] },
  { name: "empty id", order: order({ id: "" }), want: [["order.id", "REQUIRED"]] },
  { name: "id with a space", order: order({ id: "a b" }), want: [["order.id", "INVALID_FORMAT"]] },
  { name: "id with a slash", order: order({ id: "a/b" }), want: [["order.id", "INVALID_FORMAT"]] },
  { name: "id of 64 characters", order: order({ id: "x".repeat(64) }), want: [] },
  { name: "id of 65 characters", order: order({ id: "x".repeat(65) }), want: [["order.id", "INVALID_FORMAT"]] },
  { name: "non-ASCII id", order: order({ id: "ördér" }), want: [["order.id", "INVALID_FORMAT"]] },
  { name: "no items", order: order({ items: [] }), want: [["order.items", "REQUIRED"]] },
  { name: "blank item", order: order({ items: ["Pen", "  "] }), want: [["order.items[1]", "REQUIRED"]] },
  { name: "too many items", order: order({ items: Array(orderLimits.maxItems + 1).fill("x") }), want: [["order.items", "TOO_LONG"]] },
  { name: "item too long", order: order({ items: ["x".repeat(orderLimits.maxTextLength + 1)] }), want: [["order.items[0]", "TOO_LONG"]] },
  { name: "blank destination", order: order({ destination: " " }), want: [["order.destination", "REQUIRED"]] },
  { name: "description too long", order: order({ description: "d".repeat(orderLimits.maxTextLength + 1) }), want: [["order.description", "TOO_LONG"]] },
  { name: "negative price", order: order({ priceCents: -1n }), want: [["order.price_cents", "OUT_OF_RANGE"]] },
  { name: "price beyond 2^53 is fine", order: order({ priceCents: 2n ** 62n }), want: [] },
  {
    name: "every problem at once, in field order",
    order: order({ id: "", items: [], destination: "", priceCents: -5n }),
    want: [["order.id", "REQUIRED"], ["order.items", "REQUIRED"], ["order.destination", "REQUIRED"], ["order.price_cents", "OUT_OF_RANGE"]],
  },
];

for (const c of cases) {
  test(`validateOrder: ${c.name}`, () => {
    const got = validateOrder(c.order).map((v) => [v.field, v.reason]);
    assert.deepEqual(got, c.want);
    for (const v of validateOrder(c.order)) assert.ok(v.description.length > 0, "every violation explains itself");
  });
}

test("validateOrder uses the given field prefix", () => {
  assert.deepEqual(validateOrder(order({ id: "" }), "orders[2]").map((v) => v.field), ["orders[2].id"]);
});

test("validateOrderId reports under the given field", () => {
  assert.deepEqual(validateOrderId("", "order_id"), [{ field: "order_id", description: "is required", reason: "REQUIRED" }]);
  assert.deepEqual(validateOrderId("102", "order_id"), []);
});
