import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import type { Logger } from "../logger.ts";

/** The wire protocol of a request, from its content type. */
export function protocolOf(contentType: string | null): "grpc" | "grpc-web" | "connect" {
  if (contentType?.startsWith("application/grpc-web")) return "grpc-web";
  if (contentType?.startsWith("application/grpc")) return "grpc";
  return "connect";
}

/**
 * The protocol of a call as interceptors see it: "rest" for the REST gateway
 * (its URL is a resource path, not "/<service>/<method>"), else by content type.
 */
export function requestProtocol(req: {
  url: string;
  header: Headers;
  service: { typeName: string };
  method: { name: string };
}): "grpc" | "grpc-web" | "connect" | "rest" {
  const url = req.url;
  const q = url.indexOf("?");
  const end = q < 0 ? url.length : q;
  const procedure = `/${req.service.typeName}/${req.method.name}`;
  if (!url.startsWith(procedure, end - procedure.length)) return "rest";
  return protocolOf(req.header.get("content-type"));
}

/**
 * Logs one line per RPC when it ends: method, protocol, status code and
 * duration. Payloads and headers (which may carry tokens) are never logged.
 * For streaming responses the line is written when the stream ends.
 */
export function requestLogInterceptor(logger: Logger): Interceptor {
  return (next) => async (req) => {
    const start = performance.now();
    const protocol = requestProtocol(req);
    const method = `${req.service.typeName}/${req.method.name}`;
    const done = (err: unknown) => {
      const code = err === undefined ? "ok" : Code[ConnectError.from(err).code];
      const ms = Math.round((performance.now() - start) * 100) / 100;
      if (err === undefined) logger.info({ method, protocol, code, ms }, "rpc");
      else logger.info({ method, protocol, code, ms, error: ConnectError.from(err).rawMessage }, "rpc");
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
