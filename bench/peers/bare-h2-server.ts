// The ceiling for bench/profile.ts: a bare Node `http2` server that reads each
// request body and answers every stream with one fixed gRPC response (the
// bytes of our GetOrder 102 answer, captured once by the bench and passed in
// as hex) and OK trailers — Node's HTTP/2 core and nothing else: no routing,
// no decode, no interceptors, no handler, no logging.
//
//   node bench/peers/bare-h2-server.ts <response envelope as hex>   → prints "port N"
import http2 from "node:http2";
import type { AddressInfo } from "node:net";

const response = Buffer.from(process.argv[2] ?? "0000000000", "hex");
const head = { ":status": 200, "content-type": "application/grpc" };
const server = http2.createServer({ settings: { maxConcurrentStreams: 1000 } });
server.on("stream", (stream) => {
  stream.on("error", () => {});
  stream.on("data", () => {});
  stream.on("end", () => {
    stream.respond(head, { waitForTrailers: true });
    stream.once("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
    stream.end(response);
  });
});
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`port ${(server.address() as AddressInfo).port}\n`);
});
process.on("SIGTERM", () => process.exit(0));
