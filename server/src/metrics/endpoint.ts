import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import { bearerCheck } from "../node/auth.ts";
import type { Registry } from "prom-client";

/** The path Prometheus scrapes. */
export const metricsPath = "/metrics";

/** Options of `metricsEndpoint()`. */
export interface MetricsEndpointOptions {
  /** Bearer token /metrics requires; undefined → open. */
  authToken?: string;
}

type Req = IncomingMessage | Http2ServerRequest;
type Res = ServerResponse | Http2ServerResponse;

/** True for requests to /metrics (any query string). */
export function isMetricsRequest(req: Req): boolean {
  const url = req.url ?? "";
  return url === metricsPath || url.startsWith(`${metricsPath}?`);
}

/**
 * Serves the registry in Prometheus's text format on GET/HEAD /metrics, behind
 * `authorization: Bearer <token>` when a token is given (401 otherwise).
 */
export function metricsEndpoint(registry: Registry, opts: MetricsEndpointOptions = {}): (req: Req, res: Res) => void {
  const authorize = bearerCheck(opts.authToken);
  return (req, res) => {
    const r = res as ServerResponse;
    if (req.method !== "GET" && req.method !== "HEAD") {
      r.writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain; charset=utf-8" });
      r.end("method not allowed\n");
      return;
    }
    try {
      authorize(new Headers({ authorization: String(req.headers.authorization ?? "") }));
    } catch (err) {
      r.writeHead(401, { "www-authenticate": 'Bearer realm="metrics"', "content-type": "text/plain; charset=utf-8" });
      r.end(`${(err as Error).message}\n`);
      return;
    }
    registry.metrics().then(
      (text) => {
        r.writeHead(200, { "content-type": registry.contentType, "cache-control": "no-store" });
        r.end(req.method === "HEAD" ? undefined : text);
      },
      (err: unknown) => {
        r.writeHead(500, { "content-type": "text/plain; charset=utf-8" });
        r.end(`collecting metrics failed: ${(err as Error).message}\n`);
      },
    );
  };
}
