import corsMiddleware from "cors";
import { cors as connectCors } from "@connectrpc/connect";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";

type Req = IncomingMessage | Http2ServerRequest;
type Res = ServerResponse | Http2ServerResponse;

/**
 * CORS for browser clients (the `cors` package), with the methods and headers
 * Connect, gRPC-Web and our bearer token need, and the response headers a
 * browser must be allowed to read (grpc-status, grpc-message,
 * grpc-status-details-bin, Connect's headers).
 */
export function createCors(
  origins: string[],
  /** More methods to allow, e.g. the verbs of the REST rules (PUT, DELETE…). */
  extraMethods: readonly string[] = [],
): (req: Req, res: Res, next: () => void) => void {
  const mw = corsMiddleware({
    origin: origins.includes("*") ? "*" : origins,
    methods: [...new Set([...connectCors.allowedMethods, ...extraMethods])],
    allowedHeaders: [...connectCors.allowedHeaders, "Authorization"],
    exposedHeaders: [...connectCors.exposedHeaders],
    maxAge: 2 * 60 * 60,
  });
  return (req, res, next) =>
    mw(req as IncomingMessage, res as ServerResponse, (err?: unknown) => {
      if (err) {
        res.statusCode = 500;
        res.end();
      } else next();
    });
}
