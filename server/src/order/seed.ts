import { create } from "@bufbuild/protobuf";
import { OrderSchema, type Order } from "@switchboard/gen/order/v1/order_pb.js";

/** The orders of "gRPC: Up and Running", stored on first start. */
export function seedOrders(): Order[] {
  return [
    { id: "102", items: ["Google Pixel 3A", "Mac Book Pro"], destination: "Mountain View, CA", priceCents: 180000n },
    { id: "103", items: ["Apple Watch S4"], destination: "San Jose, CA", priceCents: 40000n },
    { id: "104", items: ["Google Home Mini", "Google Nest Hub"], destination: "Mountain View, CA", priceCents: 40000n },
    { id: "105", items: ["Amazon Echo"], destination: "San Jose, CA", priceCents: 3000n },
    { id: "106", items: ["Amazon Echo", "Apple iPhone XS"], destination: "Mountain View, CA", priceCents: 30000n },
  ].map((o) => create(OrderSchema, { ...o, description: o.items.join(", ") }));
}
