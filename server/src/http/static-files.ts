import { existsSync } from "node:fs";
import path from "node:path";
import sirv from "sirv";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { connectNodeAdapter } from "@connectrpc/connect-node";
import { answerUnknownProcedure } from "./unknown-procedure.ts";

type NodeHandlerFn = NonNullable<Parameters<typeof connectNodeAdapter>[0]["fallback"]>;

/**
 * True when the request's Accept header names text/html (or XHTML) with a
 * non-zero quality, as browsers do when they navigate. A wildcard does not
 * count: curl and Prometheus send `*\/*` and want the resource, not the UI.
 * (Hand-written: two media types, no negotiation between several answers.)
 */
export function acceptsHtml(accept: string | string[] | undefined): boolean {
  const value = Array.isArray(accept) ? accept.join(",") : (accept ?? "");
  return value.split(",").some((part) => {
    const [type, ...params] = part.split(";").map((p) => p.trim().toLowerCase());
    if (type !== "text/html" && type !== "application/xhtml+xml") return false;
    const q = params.find((p) => p.startsWith("q="));
    return q === undefined || Number(q.slice(2)) > 0;
  });
}

/**
 * Serves the built web UI (sirv) for requests that are not RPCs. A path with
 * no file gets index.html only when the request accepts HTML (a browser
 * following a deep link such as /orders/102); anything else — curl, a
 * Prometheus scrape of a path this server does not serve — gets a 404 that
 * names what was not found. Without a build, "/" explains how to make one.
 * RPCs to unknown procedures are answered in their protocol first
 * (UNIMPLEMENTED), never with a page.
 */
export function createStaticFiles(webDir: string): NodeHandlerFn {
  const built = existsSync(path.join(webDir, "index.html"));
  const options = { etag: true, dev: false, maxAge: 0 } as const;
  const files = built ? sirv(webDir, { ...options, single: false }) : undefined;
  const app = built ? sirv(webDir, { ...options, single: true }) : undefined;
  return (req, res) => {
    if (answerUnknownProcedure(req, res)) return;
    const notFound = () => {
      const target = `${req.method ?? "GET"} ${(req.url ?? "/").split("?")[0]}`;
      res.statusCode = 404;
      res.setHeader("content-type", "text/plain; charset=utf-8");
      res.end(
        built
          ? `not found: ${target} (no such file, route or RPC on this server; the web UI is at /)\n`
          : `not found: ${target}. The web UI is not built: run \`npm run build\`, or \`npm start\` which builds it.\n`,
      );
    };
    if (!files || !app || (req.method !== "GET" && req.method !== "HEAD")) return notFound();
    const request = req as IncomingMessage;
    const response = res as unknown as ServerResponse;
    files(request, response, () => {
      if (acceptsHtml(req.headers.accept)) app(request, response, notFound);
      else notFound();
    });
  };
}
