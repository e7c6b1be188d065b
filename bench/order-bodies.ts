import fs from "node:fs";
import path from "node:path";
import { envelope } from "./grpc-h2-client.ts";

/** GetOrderRequest{id:"102"} (order 102 is seeded), protobuf-encoded. */
const getOrder102 = Buffer.from([0x0a, 0x03, 0x31, 0x30, 0x32]);

/** The request bodies h2load sends in the perf and profile benches, by name. */
export const orderBodies = {
  grpc: envelope(getOrder102),
  proto: getOrder102,
  json: Buffer.from('{"id":"102"}'),
  search: envelope(Buffer.alloc(0)), // SearchOrdersRequest{} → every order
};
export type OrderBody = keyof typeof orderBodies;

/** Writes each body to `<dir>/<name>.body` (h2load's `-d` file). */
export function writeOrderBodies(dir: string): void {
  for (const [k, v] of Object.entries(orderBodies)) fs.writeFileSync(path.join(dir, `${k}.body`), v);
}
