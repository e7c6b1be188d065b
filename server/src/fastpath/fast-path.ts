import type { MethodImplSpec } from "@connectrpc/connect";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { IncomingHttpHeaders, ServerHttp2Stream } from "node:http2";
import { createConnectUnaryHandler } from "./connect-unary.ts";
import { prepareMethods, type FastPathOptions } from "./fast-method.ts";
import { createGrpcStreamHandler } from "./grpc-h2.ts";

/** The fast paths of one server; each returns false for what it leaves to connect-node. */
export interface FastPath {
  /** For Node's http2 "stream" event (see http/listener.ts `streamHandler`). */
  http2(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): boolean;
  /** For HTTP/1.1 requests (Connect unary); call before CORS and connect-node. */
  http1(req: IncomingMessage, res: ServerResponse): boolean;
}

/**
 * Builds the fast paths over the recorded service implementations (see
 * method-table.ts). Call after connect-node has run the routes, so the table
 * is filled.
 */
export function createFastPath(table: ReadonlyMap<string, MethodImplSpec>, opts: FastPathOptions): FastPath {
  const methods = prepareMethods(table, opts);
  const grpc = createGrpcStreamHandler(methods, opts);
  const connect = createConnectUnaryHandler(methods, opts);
  return {
    http2: (stream, headers) => grpc(stream, headers) || connect.http2(stream, headers),
    http1: (req, res) => connect.http1(req, res),
  };
}
