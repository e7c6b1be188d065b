import { ConnectError, type Interceptor } from "@connectrpc/connect";
import type { Logger } from "../logger.ts";
import { codeName } from "../metrics/rpc-metrics.ts";
import { traceKey } from "../trace/trace-context.ts";
import { callProtocol } from "./call-protocol.ts";

/**
 * Logs one line per RPC when it ends: method, protocol, status code, duration
 * and trace id, in the metrics' vocabulary (protocol grpc | grpc_web |
 * connect, code OK | NotFound | …). Payloads and headers (which may carry
 * tokens) are never logged. For streaming responses the line is written when
 * the stream ends. Runs after the trace interceptor, which sets the trace id.
 */
export function requestLogInterceptor(logger: Logger): Interceptor {
  return (next) => async (req) => {
    const start = performance.now();
    const protocol = callProtocol(req);
    const method = `${req.service.typeName}/${req.method.name}`;
    const done = (err: unknown) => {
      const trace_id = req.contextValues.get(traceKey)?.traceId;
      const ms = Math.round((performance.now() - start) * 100) / 100;
      if (err === undefined) {
        logger.info({ method, protocol, code: "OK", ms, trace_id }, "rpc");
      } else {
        const e = ConnectError.from(err);
        logger.info({ method, protocol, code: codeName(e.code), ms, trace_id, error: e.rawMessage }, "rpc");
      }
    };
    try {
      const res = await next(req);
      if (!res.stream) {
        done(undefined);
        return res;
      }
      const inner = res.message;
      return {
        ...res,
        message: (async function* () {
          try {
            yield* inner;
            done(undefined);
          } catch (err) {
            done(err);
            throw err;
          }
        })(),
      };
    } catch (err) {
      done(err);
      throw err;
    }
  };
}
