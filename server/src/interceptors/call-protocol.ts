import type { RpcProtocol } from "../metrics/rpc-metrics.ts";

/** The wire protocol of a request, from its content type. */
export function protocolOf(contentType: string | null): RpcProtocol {
  if (contentType?.startsWith("application/grpc-web")) return "grpc_web";
  if (contentType?.startsWith("application/grpc")) return "grpc";
  return "connect";
}

/**
 * The protocol of the call an interceptor sees. The fast path's request
 * carries it (`protocolName`, read without building the request Headers);
 * the REST gateway's URL is a resource path, not "/<service>/<method>";
 * connect-node's is read from the content type.
 */
export function callProtocol(req: {
  header: Headers;
  url: string;
  service: { typeName: string };
  method: { name: string };
}): RpcProtocol {
  const fast = (req as { protocolName?: string }).protocolName;
  if (fast === "grpc" || fast === "connect") return fast;
  const url = req.url;
  const q = url.indexOf("?");
  const end = q < 0 ? url.length : q;
  const procedure = `/${req.service.typeName}/${req.method.name}`;
  if (!url.startsWith(procedure, end - procedure.length)) return "rest";
  return protocolOf(req.header.get("content-type"));
}

/** A request header (lower-case name), read on the fast path without building the request Headers. */
export function callHeader(req: { header: Headers }, name: string): string | null {
  const raw = (req as { rawHeader?: (name: string) => string | undefined }).rawHeader;
  if (raw !== undefined) return raw.call(req, name) ?? null;
  return req.header.get(name);
}
