import type { RequestParts, ResponseParts } from "./answer-parts.ts";
import type { DescService } from "@bufbuild/protobuf";

type Req = RequestParts;
type Res = ResponseParts;

const kindNames = {
  server_streaming: "server-streaming",
  client_streaming: "client-streaming",
  bidi_streaming: "bidi-streaming",
} as const;

/**
 * Paths ("/pkg.Service/Method") of the streaming methods of `services`, with
 * their kind as a user reads it ("server-streaming"…).
 */
export function streamingPaths(services: readonly DescService[]): Map<string, string> {
  const paths = new Map<string, string>();
  for (const s of services) {
    for (const m of s.methods) {
      if (m.methodKind !== "unary") paths.set(`/${s.typeName}/${m.name}`, kindNames[m.methodKind]);
    }
  }
  return paths;
}

/**
 * A Connect *unary* request (content-type application/json or
 * application/proto, e.g. plain `curl -d '{}'`) sent to a streaming method.
 * connect-node answers it with an empty 415; this answers the same status
 * with a Connect JSON error that says what the method needs instead.
 * Returns false for every other request.
 */
export function answerUnaryToStream(req: Req, res: Res, streams: ReadonlyMap<string, string>): boolean {
  if (req.method !== "POST") return false;
  const contentType = String(req.headers["content-type"] ?? "").toLowerCase();
  const codec = /^application\/(json|proto)\s*(;|$)/.exec(contentType)?.[1];
  if (codec === undefined) return false;
  const path = (req.url ?? "/").split("?")[0]!;
  const kind = streams.get(path);
  if (kind === undefined) return false;
  const host = String(req.headers[":authority"] ?? req.headers.host ?? "localhost:8080");
  const message =
    `${path.slice(1)} is a ${kind} method: over the Connect protocol it needs ` +
    `content-type application/connect+${codec} with enveloped messages (each message prefixed by 1 flag byte ` +
    `and a 4-byte big-endian length), not application/${codec}; or call it over gRPC (application/grpc) or ` +
    `gRPC-Web (application/grpc-web), e.g. npx buf curl --protocol connect -d '{}' http://${host}${path}`;
  res.writeHead(415, { "content-type": "application/json" });
  res.end(JSON.stringify({ code: "invalid_argument", message }) + "\n");
  return true;
}
