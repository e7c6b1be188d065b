import { existsSync } from "node:fs";
import path from "node:path";
import sirv from "sirv";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { connectNodeAdapter } from "@connectrpc/connect-node";
import { answerUnknownProcedure } from "./unknown-procedure.ts";

type NodeHandlerFn = NonNullable<Parameters<typeof connectNodeAdapter>[0]["fallback"]>;

/**
 * Serves the built web UI (sirv) for requests that are not RPCs, with
 * index.html for unknown paths so the UI's deep links work. Without a build,
 * "/" explains how to make one. RPCs to unknown procedures are answered in
 * their protocol first (UNIMPLEMENTED), never with a page.
 */
export function createStaticFiles(webDir: string): NodeHandlerFn {
  const built = existsSync(path.join(webDir, "index.html"));
  const serve = built
    ? sirv(webDir, { single: true, etag: true, dev: false, maxAge: 0 })
    : undefined;
  return (req, res) => {
    if (answerUnknownProcedure(req, res)) return;
    const notFound = () => {
      res.statusCode = 404;
      res.setHeader("content-type", "text/plain; charset=utf-8");
      res.end(built ? "not found\n" : "The web UI is not built: run `npm run build`, or `npm start` which builds it.\n");
    };
    if (!serve || (req.method !== "GET" && req.method !== "HEAD")) return notFound();
    serve(req as IncomingMessage, res as unknown as ServerResponse, notFound);
  };
}
