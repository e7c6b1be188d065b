import type { Interceptor } from "@connectrpc/connect";

/** A W3C trace context to continue: header values as received. */
export interface TraceContextHeaders {
  traceparent: string;
  tracestate?: string;
}

/**
 * Sends `traceparent` (and `tracestate`) on every request that does not set
 * its own, so the server's spans and request log join the caller's trace.
 */
export function traceContextInterceptor(trace: TraceContextHeaders): Interceptor {
  return (next) => (req) => {
    if (!req.header.has("traceparent")) {
      req.header.set("traceparent", trace.traceparent);
      if (trace.tracestate) req.header.set("tracestate", trace.tracestate);
    }
    return next(req);
  };
}

/**
 * The trace context a process was started in: $TRACEPARENT / $TRACESTATE,
 * which the worker sets for the task processes it runs (and other tools set
 * by the same convention). Undefined when unset or not a traceparent.
 */
export function traceContextFromEnv(env: NodeJS.ProcessEnv = process.env): TraceContextHeaders | undefined {
  const traceparent = env.TRACEPARENT?.trim();
  if (!traceparent || !/^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/.test(traceparent)) return undefined;
  return { traceparent, tracestate: env.TRACESTATE };
}
