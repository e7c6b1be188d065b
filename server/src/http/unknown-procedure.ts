import type { RequestParts, ResponseParts } from "./answer-parts.ts";
import { constants } from "node:http2";

type Req = RequestParts;
type Res = ResponseParts;

/**
 * Answers an RPC to a procedure the router does not know in the caller's own
 * protocol, instead of the web UI's plain 404: gRPC and gRPC-Web get a
 * trailers-only response with grpc-status 12 (UNIMPLEMENTED), the Connect
 * protocol gets 404 with its JSON error body. Returns false for requests that
 * are not RPCs (browsers asking for pages), which the caller then serves.
 */
export function answerUnknownProcedure(req: Req, res: Res): boolean {
  const protocol = rpcProtocolOf(req);
  if (protocol === undefined) return false;
  const contentType = String(req.headers["content-type"] ?? "").toLowerCase();
  const path = (req.url ?? "/").split("?")[0]!;
  const message = `unknown procedure ${path}`;
  if (protocol !== "connect") {
    const headers = {
      "content-type": contentType.split(";")[0]!,
      "grpc-status": "12",
      "grpc-message": encodeURIComponent(message),
    };
    const stream = res.stream;
    if (stream !== undefined && !stream.headersSent && !stream.destroyed) {
      // HTTP/2: a trailers-only response is ONE HEADERS frame with END_STREAM.
      // (writeHead + end would put the status in a HEADERS frame and end the
      // stream with an empty DATA frame: no trailers, which grpc-go based
      // clients report as INTERNAL instead of UNIMPLEMENTED.)
      stream.respond({ ":status": 200, ...headers }, { endStream: true });
      // A client still sending (a streaming call) is reset once answered, as
      // gRPC servers do (see close-answered.ts).
      setImmediate(() => {
        if (!stream.closed && !stream.destroyed) stream.close(constants.NGHTTP2_NO_ERROR);
      });
      return true;
    }
    // HTTP/1.1 (gRPC-Web): the status headers and an empty body.
    res.writeHead(200, headers);
    res.end("");
    return true;
  }
  res.writeHead(404, { "content-type": "application/json" });
  res.end(JSON.stringify({ code: "unimplemented", message }));
  return true;
}

/** The RPC protocol a request speaks, or undefined when it is not an RPC (a browser asking for a page). */
export function rpcProtocolOf(req: Req): "grpc" | "grpc_web" | "connect" | undefined {
  const contentType = String(req.headers["content-type"] ?? "").toLowerCase();
  if (req.method === "POST" && /^application\/grpc-web(-text)?([+;]|$)/.test(contentType)) return "grpc_web";
  if (req.method === "POST" && /^application\/grpc([+;]|$)/.test(contentType)) return "grpc";
  const connectUnary = req.method === "POST" && /^application\/(json|proto)([;]|$)/.test(contentType);
  const connectStream = req.method === "POST" && /^application\/connect\+/.test(contentType);
  const connectGet = req.method === "GET" && /[?&]connect=v1(&|$)/.test(req.url ?? "");
  if (connectUnary || connectStream || connectGet || req.headers["connect-protocol-version"] !== undefined) return "connect";
  return undefined;
}
