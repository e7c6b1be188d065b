// Reference peer for bench/log.ts: stock connect-node (no fast path, no log)
// whose ProduceStream only counts and acknowledges, from memory. It shows the
// per-record floor of connect-node's bidi streaming that the real server's
// ProduceStream sits on.
//
//   node bench/peers/connect-log-server.ts   → prints "port N"
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { LogService } from "@switchboard/gen/log/v1/log_pb.js";

const handler = connectNodeAdapter({
  routes: (router) =>
    router.service(LogService, {
      async *produceStream(reqs) {
        let offset = 0n;
        for await (const req of reqs) {
          void req;
          yield { offset: offset++ };
        }
      },
    }),
});
const server = http2.createServer(handler).listen(0, "127.0.0.1", () => {
  process.stdout.write(`port ${(server.address() as AddressInfo).port}\n`);
});
