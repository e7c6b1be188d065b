import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import type { RpcMetrics, RpcSeries } from "../metrics/rpc-metrics.ts";
import { callProtocol } from "./call-protocol.ts";

/**
 * Counts every call that reaches a method implementation, on the fast path
 * and on connect-node alike (both run the same interceptors): started,
 * messages received and sent, handled with its code, and the handling time
 * (until the last response message for streams). Calls to unknown
 * procedures never reach an interceptor; server.ts counts those
 * (`countUnknownProcedures`).
 */
export function metricsInterceptor(rpc: RpcMetrics): Interceptor {
  return (next) => async (req) => {
    const series = rpc.series(req.method, callProtocol(req));
    series.started.value++;
    const start = performance.now();
    const kind = req.method.methodKind;
    if (kind === "unary" || kind === "server_streaming") {
      series.received.value++;
    } else {
      req = withMessage(req, countReceived(req.message as AsyncIterable<unknown>, series));
    }
    try {
      const res = await next(req);
      if (!res.stream) {
        series.sent.value++;
        series.handled(0, (performance.now() - start) / 1000);
        return res;
      }
      return { ...res, message: countSent(res.message, series, start) };
    } catch (err) {
      series.handled(ConnectError.from(err).code, (performance.now() - start) / 1000);
      throw err;
    }
  };
}

async function* countReceived<T>(messages: AsyncIterable<T>, series: RpcSeries): AsyncGenerator<T> {
  for await (const m of messages) {
    series.received.value++;
    yield m;
  }
}

async function* countSent<T>(messages: AsyncIterable<T>, series: RpcSeries, start: number): AsyncGenerator<T> {
  // A consumer that stops early (return()) without an error: the client went away.
  let code: number = Code.Canceled;
  try {
    // yield* (not for-await) so that a throw() into this stream — how the
    // fast path ends a call on deadline or cancel — reaches the inner
    // interceptors and the implementation, as it would without metrics.
    yield* tap(messages, () => series.sent.value++);
    code = 0;
  } catch (err) {
    code = ConnectError.from(err).code;
    throw err;
  } finally {
    series.handled(code, (performance.now() - start) / 1000);
  }
}

/** The same stream, calling `onItem` for each message; throw() and return() pass through. */
function tap<T>(messages: AsyncIterable<T>, onItem: () => void): AsyncIterable<T> {
  const it = messages[Symbol.asyncIterator]();
  const tapped: AsyncIterator<T> = {
    async next() {
      const r = await it.next();
      if (r.done !== true) onItem();
      return r;
    },
  };
  if (it.throw) tapped.throw = (err?: unknown) => it.throw!(err);
  if (it.return) tapped.return = (value?: unknown) => it.return!(value);
  return { [Symbol.asyncIterator]: () => tapped };
}

/**
 * A copy of a streaming request with another message stream. The fields are
 * copied by name because the fast path's request serves them from prototype
 * getters, which a spread would drop.
 */
function withMessage<R extends { message: unknown }>(req: R, message: AsyncIterable<unknown>): R {
  const r = req as unknown as Record<string, unknown>;
  return {
    ...req,
    service: r.service,
    method: r.method,
    requestMethod: r.requestMethod,
    url: r.url,
    header: r.header,
    signal: r.signal,
    contextValues: r.contextValues,
    message,
  } as R;
}
