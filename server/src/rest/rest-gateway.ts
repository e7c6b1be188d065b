import { toJson, type DescField, type DescService, type JsonValue, type Message, type Registry } from "@bufbuild/protobuf";
import { Code, ConnectError, type Interceptor, type MethodImplSpec } from "@connectrpc/connect";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import { http } from "@switchboard/gen/google/api/annotations_pb.js";
import { untilAborted } from "../abortable.ts";
import { FastContext } from "../fastpath/fast-context.ts";
import { createInvoker, normalize, type Invoker } from "../fastpath/invoke.ts";
import { requestTimeoutMs } from "../http/deadline-guard.ts";
import { readBody } from "../http/read-body.ts";
import type { Logger } from "../logger.ts";
import { httpBindings, type HttpBinding } from "./http-rules.ts";
import { literalCount, matchPath, parsePathTemplate, type PathTemplate } from "./path-template.ts";
import { requestMessage } from "./request-message.ts";
import { httpStatusFromCode, statusJson } from "./status.ts";

type Req = IncomingMessage | Http2ServerRequest;
/** Node's HTTP/1.1 and HTTP/2 compatibility responses share the calls used here. */
type Res = ServerResponse;

export interface RestGatewayOptions {
  /** Largest request body (--max-message-bytes); bigger → 413. */
  readMaxBytes: number;
  /** Largest response message as JSON (--max-message-bytes); bigger → RESOURCE_EXHAUSTED, as connect does. */
  writeMaxBytes: number;
  /** Aborted when the server shuts down; calls see it through ctx.signal. */
  shutdownSignal: AbortSignal;
  /** The same interceptors every other protocol runs (request log, metrics…). */
  interceptors: readonly Interceptor[];
  /** Types for protobuf JSON: Any fields and error details. */
  registry: Registry;
  /** The OpenAPI document served at /openapi.json (JSON text), if any. */
  openApi?: string;
  /**
   * How long a server-streaming call may take to its first message before the
   * 200 and the NDJSON headers are sent anyway. An error within it gets its
   * own HTTP status; after it, errors arrive as a last `{"error": …}` line.
   * Default 250 ms.
   */
  firstMessageWaitMs?: number;
  logger: Logger;
}

/** One served REST binding. */
export interface RestRoute {
  readonly binding: HttpBinding;
  readonly template: PathTemplate;
  readonly invoker: Invoker;
}

/** Answers REST calls; `handle` returns false for requests that are not its own. */
export interface RestGateway {
  readonly routes: readonly RestRoute[];
  handle(req: Req, res: ServerResponse | Http2ServerResponse): boolean;
}

/**
 * The REST/JSON gateway: serves the google.api.http bindings of `services`,
 * read from their descriptors, by calling the implementations recorded in
 * `table` (the very ones the Connect router serves) through the same
 * interceptor chain. Methods without a rule, or not implemented, are not
 * exposed. Paths under a bound prefix (e.g. "/v1/") that match no binding get
 * a google.rpc.Status 404 (or 405 when only the HTTP method differs).
 */
export function createRestGateway(
  services: readonly DescService[],
  table: ReadonlyMap<string, MethodImplSpec>,
  opts: RestGatewayOptions,
): RestGateway {
  const routes: RestRoute[] = [];
  for (const service of services) {
    for (const method of service.methods) {
      for (const binding of httpBindings(method, http)) {
        const spec = table.get(`/${service.typeName}/${method.name}`);
        if (spec === undefined) continue;
        if (method.methodKind !== "unary" && method.methodKind !== "server_streaming") {
          opts.logger.warn({ method: method.name }, "REST rules of client/bidi-streaming methods are not served");
          continue;
        }
        const template = parsePathTemplate(binding.path);
        checkFields(binding, template);
        routes.push({ binding, template, invoker: createInvoker(spec, opts.interceptors)! });
      }
    }
  }
  // A custom verb or more literal segments first: "/v1/tasks/{id}:watch" before "/v1/tasks/{id}".
  routes.sort((a, b) => literalCount(b.template) - literalCount(a.template));
  const prefixes = [
    ...new Set(routes.map((r) => (r.template.segments[0]?.kind === "literal" ? `/${r.template.segments[0].value}/` : "/"))),
  ];
  const firstWait = opts.firstMessageWaitMs ?? 250;

  const handle = (req: Req, anyRes: ServerResponse | Http2ServerResponse): boolean => {
    const res = anyRes as Res;
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    const path = q < 0 ? url : url.slice(0, q);
    if (path === "/openapi.json" && opts.openApi !== undefined && (req.method === "GET" || req.method === "HEAD")) {
      res.writeHead(200, { "content-type": "application/json; charset=utf-8", "cache-control": "no-cache" });
      res.end(req.method === "HEAD" ? "" : opts.openApi);
      return true;
    }
    if (!prefixes.some((p) => path.startsWith(p))) return false;
    const allowed = new Set<string>();
    for (const route of routes) {
      const values = matchPath(route.template, path);
      if (values === undefined) continue;
      if (route.binding.verb !== req.method) {
        allowed.add(route.binding.verb);
        continue;
      }
      void serve(route, values, new URLSearchParams(q < 0 ? "" : url.slice(q + 1)), req, res);
      return true;
    }
    req.resume();
    if (allowed.size > 0) {
      res.setHeader("allow", [...allowed].join(", "));
      respondError(res, new ConnectError("Method Not Allowed", Code.Unimplemented), opts.registry, 405);
    } else {
      respondError(res, new ConnectError(`no REST route for ${req.method} ${path}`, Code.NotFound), opts.registry);
    }
    return true;
  };

  const serve = async (route: RestRoute, values: Map<string, string>, query: URLSearchParams, req: Req, res: Res) => {
    const { binding, invoker } = route;
    const timeoutMs = requestTimeoutMs(req.headers);
    const url = `http://${req.headers.host ?? req.headers[":authority"] ?? "localhost"}${req.url}`;
    const ctx = new FastContext(binding.method, "rest", req.method ?? "GET", url, req.headers, opts.shutdownSignal, timeoutMs);
    const signal = ctx.signal;
    const timer =
      timeoutMs === undefined
        ? undefined
        : setTimeout(() => ctx.abort(new ConnectError("the operation timed out", Code.DeadlineExceeded)), timeoutMs);
    res.on("close", () => {
      if (!res.writableFinished) ctx.abort(new ConnectError("client canceled the call", Code.Canceled));
    });
    let bodyStatus: number | undefined;
    try {
      let body: Buffer | undefined;
      if (binding.body !== "") {
        body = await readBody(req, header(req, "content-length"), opts.readMaxBytes).catch((err: unknown) => {
          bodyStatus = ConnectError.from(err).code === Code.ResourceExhausted ? 413 : undefined;
          throw err;
        });
      } else {
        req.resume();
      }
      const input = requestMessage(binding, values, query, body, opts.registry);
      if (invoker.kind === "unary") {
        const output = await untilSignal(invoker.invoke(ctx, input), signal);
        if (res.destroyed) return;
        const json = checkSize(Buffer.from(JSON.stringify(responseJson(binding, output, opts.registry))), opts.writeMaxBytes);
        res.writeHead(200, {
          ...metadataHeaders(ctx),
          "content-type": "application/json; charset=utf-8",
          "content-length": String(json.byteLength),
        });
        res.end(json);
      } else if (invoker.kind === "server_streaming") {
        await streamNdjson(binding, ctx, await invoker.invoke(ctx, input), res, opts, firstWait);
      }
    } catch (err) {
      if (!res.destroyed && !res.headersSent) respondError(res, ConnectError.from(err), opts.registry, bodyStatus);
    } finally {
      if (timer !== undefined) clearTimeout(timer);
      ctx.release();
    }
  };

  return { routes, handle };
}

/** Writes a server stream as NDJSON, `{"result": …}` per message, flushed one by one. */
async function streamNdjson(
  binding: HttpBinding,
  ctx: FastContext,
  stream: AsyncIterable<unknown>,
  res: Res,
  opts: Pick<RestGatewayOptions, "registry" | "writeMaxBytes">,
  firstWaitMs: number,
): Promise<void> {
  const registry = opts.registry;
  const it = untilAborted(stream, ctx.signal)[Symbol.asyncIterator]();
  const output = binding.method.output;
  try {
    const pending = it.next();
    let waitTimer: NodeJS.Timeout | undefined;
    const early = await Promise.race([
      pending.then((r) => ({ r })),
      new Promise<undefined>((resolve) => (waitTimer = setTimeout(() => resolve(undefined), firstWaitMs))),
    ]);
    clearTimeout(waitTimer);
    if (res.destroyed) return;
    res.writeHead(200, {
      ...metadataHeaders(ctx),
      "content-type": "application/x-ndjson; charset=utf-8",
      "cache-control": "no-cache",
      "x-content-type-options": "nosniff",
    });
    // Send the headers now: a follow stream may wait long for its first line.
    if ("flushHeaders" in res) res.flushHeaders();
    try {
      let next = early ? early.r : await pending;
      while (!next.done) {
        const json = JSON.stringify({ result: responseJson(binding, normalize(output, next.value), registry) }) + "\n";
        const line = checkSize(Buffer.from(json), opts.writeMaxBytes);
        if (!res.write(line)) await drained(res);
        if (res.destroyed) return;
        next = await it.next();
      }
      res.end();
    } catch (err) {
      if (!res.destroyed) res.end(JSON.stringify({ error: statusJson(ConnectError.from(err), registry) }) + "\n");
    }
  } finally {
    void it.return?.(undefined).catch(() => {});
  }
}

/** The JSON of one response message, refused (RESOURCE_EXHAUSTED) over the write limit, as connect does. */
function checkSize(json: Buffer, max: number): Buffer {
  if (json.byteLength > max) {
    throw new ConnectError(`message size ${json.byteLength} is larger than configured writeMaxBytes ${max}`, Code.ResourceExhausted);
  }
  return json;
}

/**
 * The response JSON: the whole message, or its `response_body` field. Fields
 * with default values are written too (grpc-gateway's EmitUnpopulated), so
 * `{"offset": "0"}` is not `{}`; names and forms are the Connect protocol's.
 */
function responseJson(binding: HttpBinding, output: Message, registry: Registry): JsonValue {
  const json = toJson(binding.method.output, output, { registry, alwaysEmitImplicit: true });
  if (binding.responseBody === "") return json;
  const field = binding.method.output.fields.find((f) => f.name === binding.responseBody);
  return (json as Record<string, JsonValue>)[field?.jsonName ?? binding.responseBody] ?? null;
}

function respondError(res: Res, err: ConnectError, registry: Registry, status?: number): void {
  if (res.headersSent || res.destroyed) return;
  const headers: Record<string, string> = { "content-type": "application/json; charset=utf-8" };
  if (err.code === Code.Unauthenticated) headers["www-authenticate"] = "Bearer";
  const body = Buffer.from(JSON.stringify(statusJson(err, registry)));
  headers["content-length"] = String(body.byteLength);
  res.writeHead(status ?? httpStatusFromCode(err.code), headers);
  res.end(body);
}

/** Response headers the implementation set, as grpc-gateway forwards them ("Grpc-Metadata-<key>"). */
function metadataHeaders(ctx: FastContext): Record<string, string> {
  const out: Record<string, string> = {};
  ctx.responseHeaderIfAny?.forEach((v, k) => {
    out[`grpc-metadata-${k}`] = v;
  });
  return out;
}

function header(req: Req, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function drained(res: Res): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.on("drain", done);
    res.on("close", done);
  });
}

/** The promise, or the signal's reason as soon as it aborts (deadline, client gone, shutdown). */
function untilSignal<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(ConnectError.from(signal.reason));
  let onAbort: () => void = () => {};
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(ConnectError.from(signal.reason));
    signal.addEventListener("abort", onAbort, { once: true });
  });
  return Promise.race([p, aborted]).finally(() => signal.removeEventListener("abort", onAbort));
}

/** Fails at start when a rule names fields the request does not have. */
function checkFields(binding: HttpBinding, template: PathTemplate): void {
  const input = binding.method.input;
  const where = `${binding.method.parent.typeName}.${binding.method.name} (${binding.verb} ${binding.path})`;
  for (const v of template.variables) {
    let msg: typeof input | undefined = input;
    for (const part of v.fieldPath.split(".")) {
      const f: DescField | undefined = msg?.fields.find((x) => x.name === part);
      if (f === undefined) throw new Error(`${where}: path variable "${v.fieldPath}" is not a field of ${input.typeName}`);
      msg = f.fieldKind === "message" ? f.message : undefined;
    }
  }
  if (binding.body !== "" && binding.body !== "*" && !input.fields.some((f) => f.name === binding.body)) {
    throw new Error(`${where}: body "${binding.body}" is not a field of ${input.typeName}`);
  }
}
