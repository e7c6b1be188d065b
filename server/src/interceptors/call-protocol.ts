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
 * connect-node's is read from the content type.
 */
export function callProtocol(req: { header: Headers }): RpcProtocol {
  const fast = (req as { protocolName?: string }).protocolName;
  if (fast === "grpc" || fast === "connect") return fast;
  return protocolOf(req.header.get("content-type"));
}
