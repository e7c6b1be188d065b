import type { DescMethod } from "@bufbuild/protobuf";
import { ConnectError, type ContextValues, type Interceptor } from "@connectrpc/connect";
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
 *
 * The `method` and `protocol` fields are bound once per (method, protocol) in
 * a pino child logger, which serializes its bindings when it is created: per
 * call pino then formats only code, ms and trace_id (the line is the same,
 * field for field and in the same order). Per-layer profile of gRPC GetOrder
 * (bench/profile.ts, A/B): the request log's cost fell from 5.9 to 4.2 µs per
 * call at 4×16 and from 13 to 11 µs at 1×1 (bench/README.md).
 */
export function requestLogInterceptor(logger: Logger): Interceptor {
  const lines = new LineLoggers(logger);
  return (next) => async (req) => {
    const start = performance.now();
    const log = lines.of(req.method, callProtocol(req));
    try {
      const res = await next(req);
      if (!res.stream) {
        logLine(log, req.contextValues, start, undefined);
        return res;
      }
      const inner = res.message;
      const values = req.contextValues;
      return {
        ...res,
        message: (async function* () {
          try {
            yield* inner;
            logLine(log, values, start, undefined);
          } catch (err) {
            logLine(log, values, start, err);
            throw err;
          }
        })(),
      };
    } catch (err) {
      logLine(log, req.contextValues, start, err);
      throw err;
    }
  };
}

/** Writes the line of one call that started at `start` (performance.now()) and ended with `err` (undefined = OK). */
function logLine(log: Logger, values: ContextValues, start: number, err: unknown): void {
  const trace_id = values.get(traceKey)?.traceId;
  const ms = Math.round((performance.now() - start) * 100) / 100;
  if (err === undefined) {
    log.info({ code: "OK", ms, trace_id }, "rpc");
  } else {
    const e = ConnectError.from(err);
    log.info({ code: codeName(e.code), ms, trace_id, error: e.rawMessage }, "rpc");
  }
}

/** One child logger per (method, protocol), with `method` and `protocol` bound (serialized once). */
class LineLoggers {
  readonly #logger: Logger;
  readonly #byMethod = new WeakMap<DescMethod, Map<string, Logger>>();
  constructor(logger: Logger) {
    this.#logger = logger;
  }
  of(method: DescMethod, protocol: string): Logger {
    let byProtocol = this.#byMethod.get(method);
    if (byProtocol === undefined) this.#byMethod.set(method, (byProtocol = new Map()));
    let log = byProtocol.get(protocol);
    if (log === undefined) {
      log = this.#logger.child({ method: `${method.parent.typeName}/${method.name}`, protocol });
      byProtocol.set(protocol, log);
    }
    return log;
  }
}
