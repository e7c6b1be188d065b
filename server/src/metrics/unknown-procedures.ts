import type { IncomingHttpHeaders } from "node:http";
import { rpcProtocolOf } from "../http/unknown-procedure.ts";
import type { RpcMetrics } from "./rpc-metrics.ts";

/**
 * Wraps connect-node's fallback (what it calls for paths no route matches)
 * so that RPCs to unknown procedures are counted — started and handled with
 * code Unimplemented — in the one `unknown` series of their protocol, never
 * under the raw path. The fast path hands such calls to connect-node, so
 * each is counted here once.
 */
export function countUnknownProcedures<Q extends { method?: string; url?: string; headers: IncomingHttpHeaders }, S>(
  fallback: (req: Q, res: S) => void,
  rpc: RpcMetrics,
): (req: Q, res: S) => void {
  return (req, res) => {
    const protocol = rpcProtocolOf(req);
    if (protocol !== undefined) {
      const series = rpc.unknown(protocol);
      series.started.value++;
      series.handled(12 /* Unimplemented */, 0);
    }
    fallback(req, res);
  };
}
