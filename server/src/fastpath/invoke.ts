import { create, isMessage, type DescMessage, type Message } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  type HandlerContext,
  type Interceptor,
  type MethodImplSpec,
} from "@connectrpc/connect";
import { createAsyncIterable } from "@connectrpc/connect/protocol";
import type { FastContext } from "./fast-context.ts";

const kCtx = Symbol("switchboard.fastContext");

/**
 * The request an interceptor sees. Header, signal and context values are
 * prototype getters onto the lazy FastContext, so they cost nothing unless an
 * interceptor reads them. Interceptors that pass a modified copy
 * (`{...req, header}`) still work: fields a copy lacks are taken from the
 * context, fields it sets win (see `contextFor`).
 */
class FastRequest {
  readonly stream: boolean;
  readonly [kCtx]: FastContext;
  readonly #input: Message | AsyncIterable<Message>;
  readonly #inputIsStream: boolean;
  constructor(ctx: FastContext, stream: boolean, input: Message | AsyncIterable<Message>, inputIsStream = false) {
    this.stream = stream;
    this[kCtx] = ctx;
    this.#input = input;
    this.#inputIsStream = inputIsStream;
  }
  /** The input itself: the one message, or the request stream of a client/bidi call. */
  get input(): Message | AsyncIterable<Message> {
    return this.#input;
  }
  get message(): Message | AsyncIterable<Message> {
    if (this.#inputIsStream) return this.#input;
    return this.stream ? createAsyncIterable([this.#input as Message]) : this.#input;
  }
  get method() {
    return this[kCtx].method;
  }
  get service() {
    return this[kCtx].service;
  }
  get requestMethod() {
    return this[kCtx].requestMethod;
  }
  get url() {
    return this[kCtx].url;
  }
  get header() {
    return this[kCtx].requestHeader;
  }
  get signal() {
    return this[kCtx].signal;
  }
  get contextValues() {
    return this[kCtx].values;
  }
  /** "grpc" or "connect": lets interceptors learn the protocol without building the request Headers. */
  get protocolName() {
    return this[kCtx].protocolName;
  }
  /** A request header (lower-case name) read without building the request Headers. */
  rawHeader(name: string): string | undefined {
    return this[kCtx].rawHeader(name);
  }
}

/** The response an implementation's result is wrapped in (headers lazy, as above). */
class FastResponse {
  readonly stream: boolean;
  readonly message: unknown;
  readonly [kCtx]: FastContext;
  constructor(ctx: FastContext, stream: boolean, message: unknown) {
    this.stream = stream;
    this.message = message;
    this[kCtx] = ctx;
  }
  get method() {
    return this[kCtx].method;
  }
  get service() {
    return this[kCtx].service;
  }
  get header() {
    return this[kCtx].responseHeader;
  }
  get trailer() {
    return this[kCtx].responseTrailer;
  }
}

type AnyReq = Partial<FastRequest> & { [kCtx]: FastContext; message?: unknown };
type AnyRes = { message: unknown; header?: Headers; trailer?: Headers };
type AnyFn = (req: AnyReq) => Promise<AnyRes>;

/** The context the implementation gets: ours, or one merged with what an interceptor changed. */
function contextFor(req: AnyReq): HandlerContext {
  const ctx = req[kCtx];
  if (req instanceof FastRequest) return ctx;
  return {
    method: ctx.method,
    service: req.service ?? ctx.service,
    requestMethod: ctx.requestMethod,
    protocolName: ctx.protocolName,
    url: ctx.url,
    timeoutMs: () => ctx.timeoutMs(),
    requestHeader: req.header ?? ctx.requestHeader,
    signal: req.signal ?? ctx.signal,
    values: req.contextValues ?? ctx.values,
    responseHeader: ctx.responseHeader,
    responseTrailer: ctx.responseTrailer,
  };
}

/** What interceptors returned, folded back into the context's response headers. */
function adoptHeaders(ctx: FastContext, res: AnyRes): void {
  if (res instanceof FastResponse) return;
  if (res.header !== undefined && res.header !== ctx.responseHeaderIfAny) copy(res.header, ctx.responseHeader);
  if (res.trailer !== undefined && res.trailer !== ctx.responseTrailerIfAny) copy(res.trailer, ctx.responseTrailer);
}

function copy(from: Headers, to: Headers): void {
  for (const key of [...to.keys()]) to.delete(key);
  from.forEach((v, k) => to.set(k, v));
}

/** An implementation's output as a message of the schema (it may return an init object). */
export function normalize(schema: DescMessage, value: unknown): Message {
  return isMessage(value, schema) ? value : create(schema, value as never);
}

/** Runs a unary method through the interceptors; resolves to the output message. */
export type UnaryInvoker = (ctx: FastContext, input: Message) => Promise<Message>;
/** Runs a server-streaming method through the interceptors; yields output messages (maybe init objects). */
export type StreamInvoker = (ctx: FastContext, input: Message) => Promise<AsyncIterable<unknown>>;
/** Runs a client-streaming method over the request stream; resolves to the output message. */
export type ClientStreamInvoker = (ctx: FastContext, input: AsyncIterable<Message>) => Promise<Message>;
/** Runs a bidi-streaming method over the request stream; yields output messages (maybe init objects). */
export type BidiStreamInvoker = (ctx: FastContext, input: AsyncIterable<Message>) => Promise<AsyncIterable<unknown>>;

/** The invoker of one method, by kind. */
export type Invoker =
  | { kind: "unary"; invoke: UnaryInvoker }
  | { kind: "server_streaming"; invoke: StreamInvoker }
  | { kind: "client_streaming"; invoke: ClientStreamInvoker }
  | { kind: "bidi_streaming"; invoke: BidiStreamInvoker };

/**
 * Builds the invoker of one method, with the interceptor chain composed once
 * (connect composes it per call), for each of the four method kinds. The
 * request and response objects the interceptors see have connect's shape:
 * `stream` true and `message` an AsyncIterable where the method streams.
 */
export function createInvoker(spec: MethodImplSpec, interceptors: readonly Interceptor[]): Invoker | undefined {
  const chain = (fn: AnyFn): AnyFn =>
    interceptors.reduceRight<AnyFn>((next, i) => i(next as never) as unknown as AnyFn, fn);
  if (spec.kind === "unary") {
    const impl = spec.impl as (m: Message, c: HandlerContext) => unknown;
    const output = spec.method.output;
    const next = chain(async (req) => {
      const ctx = req[kCtx];
      const message = req instanceof FastRequest ? (req.input as Message) : req.message;
      const out = normalize(output, await impl(message as Message, contextFor(req)));
      return new FastResponse(ctx, false, out) as unknown as AnyRes;
    });
    // One promise reaction, not an async frame: this runs on every unary call.
    const done = (ctx: FastContext, res: AnyRes) => {
      adoptHeaders(ctx, res);
      return normalize(output, res.message);
    };
    return {
      kind: "unary",
      invoke: (ctx, input) => {
        let res: Promise<AnyRes>;
        try {
          res = next(new FastRequest(ctx, false, input) as unknown as AnyReq);
        } catch (err) {
          return Promise.reject(err);
        }
        return res.then((r) => done(ctx, r));
      },
    };
  }
  if (spec.kind === "server_streaming") {
    const impl = spec.impl as (m: Message, c: HandlerContext) => AsyncIterable<unknown>;
    const next = chain(async (req) => {
      const ctx = req[kCtx];
      let input: Message;
      if (req instanceof FastRequest) {
        input = req.input as Message;
      } else {
        input = await single(req.message as AsyncIterable<Message>);
      }
      return new FastResponse(ctx, true, impl(input, contextFor(req))) as unknown as AnyRes;
    });
    return {
      kind: "server_streaming",
      invoke: async (ctx, input) => {
        const res = await next(new FastRequest(ctx, true, input) as unknown as AnyReq);
        adoptHeaders(ctx, res);
        return res.message as AsyncIterable<unknown>;
      },
    };
  }
  if (spec.kind === "client_streaming") {
    const impl = spec.impl as (m: AsyncIterable<Message>, c: HandlerContext) => unknown;
    const output = spec.method.output;
    const next = chain(async (req) => {
      const ctx = req[kCtx];
      const out = normalize(output, await impl(req.message as AsyncIterable<Message>, contextFor(req)));
      return new FastResponse(ctx, false, out) as unknown as AnyRes;
    });
    return {
      kind: "client_streaming",
      invoke: async (ctx, input) => {
        const res = await next(new FastRequest(ctx, true, input, true) as unknown as AnyReq);
        adoptHeaders(ctx, res);
        return normalize(output, res.message);
      },
    };
  }
  if (spec.kind === "bidi_streaming") {
    const impl = spec.impl as (m: AsyncIterable<Message>, c: HandlerContext) => AsyncIterable<unknown>;
    const next = chain(async (req) => {
      const ctx = req[kCtx];
      return new FastResponse(ctx, true, impl(req.message as AsyncIterable<Message>, contextFor(req))) as unknown as AnyRes;
    });
    return {
      kind: "bidi_streaming",
      invoke: async (ctx, input) => {
        const res = await next(new FastRequest(ctx, true, input, true) as unknown as AnyReq);
        adoptHeaders(ctx, res);
        return res.message as AsyncIterable<unknown>;
      },
    };
  }
  return undefined;
}

async function single(it: AsyncIterable<Message>): Promise<Message> {
  let first: Message | undefined;
  for await (const m of it) {
    if (first !== undefined) {
      throw new ConnectError("protocol error: received extra input message for server-streaming method", Code.Unimplemented);
    }
    first = m;
  }
  if (first === undefined) {
    throw new ConnectError("protocol error: missing input message for server-streaming method", Code.Unimplemented);
  }
  return first;
}
