import { ConnectError, type Interceptor } from "@connectrpc/connect";
import type { RpcTracer } from "../trace/rpc-tracer.ts";
import { continueTrace, traceKey } from "../trace/trace-context.ts";
import { callHeader, callProtocol } from "./call-protocol.ts";

/**
 * Accepts the caller's W3C `traceparent`/`tracestate` (or starts a new trace)
 * and puts the call's TraceContext into the context values, where the
 * request log and implementations that call on (task dispatch) read it. With
 * a tracer (OpenTelemetry, only when OTEL_EXPORTER_OTLP_ENDPOINT is set) it
 * also records a span of the call.
 */
export function traceInterceptor(tracer?: RpcTracer): Interceptor {
  if (tracer === undefined) {
    // No async frame of its own: this runs on every call.
    return (next) => (req) => {
      const traceparent = callHeader(req, "traceparent");
      req.contextValues.set(traceKey, continueTrace(traceparent, traceparent === null ? null : callHeader(req, "tracestate")));
      return next(req);
    };
  }
  return (next) => async (req) => {
    const traceparent = callHeader(req, "traceparent");
    const trace = continueTrace(traceparent, traceparent === null ? null : callHeader(req, "tracestate"));
    const span = tracer.start(req.method, callProtocol(req), trace);
    req.contextValues.set(traceKey, span.context);
    try {
      const res = await next(req);
      if (!res.stream) {
        span.end(undefined);
        return res;
      }
      const inner = res.message;
      return {
        ...res,
        message: (async function* () {
          let error: unknown = new ConnectError("the client stopped reading", 1 /* Canceled */);
          try {
            yield* inner;
            error = undefined;
          } catch (err) {
            error = err;
            throw err;
          } finally {
            span.end(error);
          }
        })(),
      };
    } catch (err) {
      span.end(err);
      throw err;
    }
  };
}
