// Over ~350 lines on purpose: one gRPC call's life on the hot path (request
// framing, invoke, response framing, trailers, deadline, cancel) is one class
// whose private state is shared by every step; split across files it would
// need per-call closures or public fields, which the CPU budget in
// bench/README.md (issue 22) measured as a cost.
import type { Message } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Compression } from "@connectrpc/connect/protocol";
import { contentTypeProto, grpcStatusOk, parseTimeout, setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import * as http2 from "node:http2";
import type { IncomingHttpHeaders, ServerHttp2Stream } from "node:http2";
import { newMessageCompression, type MessageCompression } from "../message-compression.ts";
import { joined, negotiateCompression } from "./compression.ts";
import { encodeEnvelope, EnvelopeSplitter, parseEnvelope } from "./envelope.ts";
import { FastContext, headersInto } from "./fast-context.ts";
import { normalize } from "./invoke.ts";
import type { FastMethod, FastPathOptions } from "./fast-method.ts";
import { RequestStream } from "./request-stream.ts";

// Request content types matched exactly (not with connect's parseContentType
// regex): only binary protobuf is served here; application/grpc+json is left
// to connect-node.
const contentType = contentTypeProto;
/** Coalesce streamed messages into writes of about this size (fewer DATA frames and syscalls). */
const flushBytes = 16 * 1024;

/**
 * gRPC (binary) calls of all four kinds served on Node's HTTP/2 core stream
 * API.
 *
 * Why: connect-node serves each call through the http2 compatibility layer
 * (Http2ServerRequest/Response), converts it to a "universal" request with
 * fetch Headers, and runs a chain of about ten async generators per message,
 * with a linked AbortController per call. A profile under load showed most of
 * the time there and in the garbage it leaves (see bench/README.md). This path
 * reads the body, parses the one envelope, calls the same ServiceImpl through
 * the same interceptors and writes the response with `stream.respond()` and
 * trailers — the work grpc-js does, no more. Client- and bidi-streaming calls
 * read their request messages through a RequestStream (request-stream.ts,
 * bounded, with HTTP/2 flow control as back-pressure) and start the
 * implementation at once, so a bidi call answers while the client sends.
 *
 * It only takes what it fully handles: POST, content-type application/grpc or
 * application/grpc+proto, no Origin header (browsers go through CORS), a
 * method recorded in the table, grpc-encoding identity or gzip and a valid grpc-timeout. Everything else
 * returns false and is served by connect-node unchanged. The protocol details
 * come from connect itself wherever its helpers are cheap enough for the hot
 * path: grpc-timeout (parseTimeout), compression (compressionNegotiate,
 * envelopeDecompress, connect-node's gzip), error trailers (setTrailerStatus);
 * envelopes are split and written by envelope.ts (which says why).
 *
 * Upstream: the allocations (lazy context, one generator per call) would be
 * welcome in connect-node's gRPC handler too; this file is the local,
 * protocol-specific version of that idea.
 */
export function createGrpcStreamHandler(
  table: ReadonlyMap<string, FastMethod>,
  opts: FastPathOptions,
): (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => boolean {
  return (stream, headers) => {
    if (headers[":method"] !== "POST") return false;
    const ct = headers["content-type"];
    if (ct !== "application/grpc" && ct !== contentType) return false;
    if (headers.origin !== undefined) return false;
    const fm = table.get(headers[":path"]!);
    if (fm === undefined) return false;
    const compression = negotiateCompression(headers, "grpc-encoding", "grpc-accept-encoding");
    if (compression === undefined) return false;
    const timeout = parseTimeout(joined(headers["grpc-timeout"]), Number.MAX_SAFE_INTEGER);
    if (timeout.error) return false;
    new GrpcCall(stream, headers, fm, opts, compression.request, compression.response, timeout.timeoutMs);
    return true;
  };
}

/** The call a stream belongs to, for the listeners shared by all calls (no closures per call). */
const kCall = Symbol("switchboard.grpcCall");
type CallStream = ServerHttp2Stream & { [kCall]: GrpcCall };

/** One call: read → parse → invoke → write; every exit goes through `finish`. */
class GrpcCall {
  // Stream listeners shared by every call (`this` is the stream).
  static #onClose = function (this: CallStream): void {
    const call = this[kCall];
    if (!call.#done) call.#abort(new ConnectError("client canceled the call", Code.Canceled));
  };
  static #onDataListener = function (this: CallStream, chunk: Buffer): void {
    this[kCall].#onData(chunk);
  };
  static #onEndListener = function (this: CallStream): void {
    this[kCall].#onEnd();
  };
  static #onWantTrailers = function (this: CallStream): void {
    const call = this[kCall];
    if (!this.destroyed) this.sendTrailers(call.#trailers ?? call.#okTrailers());
    call.#closeWhenAnswered();
  };

  readonly #stream: ServerHttp2Stream;
  readonly #fm: FastMethod;
  readonly #opts: FastPathOptions;
  readonly #ctx: FastContext;
  /** The request's compression (grpc-encoding), if any. */
  readonly #requestCompression: Compression | null;
  /** The response's compression as negotiated; announced in the headers, used per message. */
  readonly #responseCompression: Compression | null;
  /** Request compressed flags for the implementation, its wish for the response's (message-compression.ts). */
  readonly #compression: MessageCompression = newMessageCompression();
  /** The request of a unary or server-streaming call: its one envelope once complete. */
  readonly #body: EnvelopeSplitter;
  #envelope: Buffer | undefined;
  #done = false;
  #timer: NodeJS.Timeout | undefined;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #flushScheduled: NodeJS.Immediate | undefined;
  #trailers: Record<string, string> | undefined;
  #waitingForDrain = false;
  /** The request messages of a client- or bidi-streaming call. */
  readonly #req: RequestStream | undefined;

  constructor(
    stream: ServerHttp2Stream,
    headers: IncomingHttpHeaders,
    fm: FastMethod,
    opts: FastPathOptions,
    requestCompression: Compression | null,
    responseCompression: Compression | null,
    timeoutMs: number | undefined,
  ) {
    this.#stream = stream;
    this.#fm = fm;
    this.#opts = opts;
    this.#requestCompression = requestCompression;
    this.#responseCompression = responseCompression;
    this.#body = new EnvelopeSplitter(opts.readMaxBytes);
    this.#ctx = new FastContext(fm.spec.method, "grpc", "POST", undefined, headers, opts.shutdownSignal, timeoutMs);
    this.#ctx.compression = this.#compression;
    if (timeoutMs !== undefined) {
      this.#timer = setTimeout(
        () => this.#fail(new ConnectError("the operation timed out", Code.DeadlineExceeded)),
        timeoutMs,
      );
    }
    (stream as CallStream)[kCall] = this;
    stream.on("error", noop);
    stream.on("close", GrpcCall.#onClose);
    if (fm.kind === "client_streaming" || fm.kind === "bidi_streaming") {
      const req = new RequestStream(stream, fm.serialization.getI(true), opts.readMaxBytes, requestCompression);
      this.#req = req;
      req.compression = this.#compression;
      stream.on("data", (chunk: Buffer) => req.push(chunk));
      stream.on("end", () => req.end());
      // Cancel, deadline and server shutdown end the request stream too, so
      // an implementation waiting for the next message never hangs.
      const signal = this.#ctx.signal;
      if (signal.aborted) req.abort(signal.reason);
      else signal.addEventListener("abort", () => req.abort(signal.reason), { once: true });
      this.#runStreaming(fm, req).catch((err: unknown) => this.#fail(err));
      return;
    }
    stream.on("data", GrpcCall.#onDataListener);
    stream.on("end", GrpcCall.#onEndListener);
  }

  async #runStreaming(fm: FastMethod, req: RequestStream): Promise<void> {
    if (fm.kind === "client_streaming") {
      const out = await fm.invoke(this.#ctx, req);
      if (this.#done) return;
      await this.#unaryResponse(out);
    } else if (fm.kind === "bidi_streaming") {
      await this.#serverStream(await fm.invoke(this.#ctx, req));
    }
  }

  /** Writes the one response message; synchronous unless the response is compressed. */
  #unaryResponse(out: Message): void | Promise<void> {
    const f = this.#frame(out);
    if (f instanceof Promise) return f.then((frame) => this.#endWith(frame));
    this.#endWith(f);
  }

  #endWith(frame: Buffer): void {
    if (this.#done) return;
    this.#respond();
    this.#finish();
    this.#stream.end(frame);
  }

  /**
   * Buffers the one request message of a unary or server-streaming call, and
   * never more: the envelope prefix bounds it (oversize → RESOURCE_EXHAUSTED),
   * and a byte past the first complete envelope ends the call at once with
   * connect's "extra input message" error (UNIMPLEMENTED, as connect-go) and
   * resets the stream, so a client cannot make the server hold an unbounded
   * body. The buffer is at most 5 + readMaxBytes plus one DATA chunk.
   */
  #onData(chunk: Buffer): void {
    if (this.#done) return; // already answered (error): drain and drop
    const body = this.#body;
    body.push(chunk);
    try {
      this.#envelope ??= body.next();
    } catch (err) {
      body.clear();
      return this.#fail(err);
    }
    if (this.#envelope !== undefined && body.bufferedBytes > 0) {
      body.clear();
      this.#fail(this.#inputError("extra"));
    }
  }

  /** connect's error (UNIMPLEMENTED, as connect-go) when a unary or server-streaming request is not one message. */
  #inputError(what: "missing" | "extra"): ConnectError {
    const kind = this.#fm.kind === "unary" ? "unary" : "server-streaming";
    const error = what === "missing" ? "missing input message" : "received extra input message";
    return new ConnectError(`protocol error: ${error} for ${kind} method`, Code.Unimplemented);
  }

  #onEnd(): void {
    if (this.#done) return;
    const env = this.#envelope;
    if (env !== undefined) {
      this.#run(env);
    } else if (this.#body.bufferedBytes < 5) {
      this.#fail(this.#inputError("missing"));
    } else {
      this.#fail(new ConnectError("protocol error: incomplete envelope", Code.InvalidArgument));
    }
  }

  /**
   * Parses the request and runs the implementation. Written with explicit
   * promise callbacks, not as an async function: an uncompressed unary call
   * then costs one promise reaction here (the implementation's result)
   * instead of three async frames (run, invoke's result, the response).
   */
  #run(env: Buffer): void {
    let parsed: Message | Promise<Message>;
    try {
      parsed = parseEnvelope(env, this.#fm.serialization.getI(true), this.#requestCompression, this.#opts.readMaxBytes, this.#markCompressed);
    } catch (err) {
      return this.#fail(err);
    }
    if (parsed instanceof Promise) parsed.then((input) => this.#invoke(input), this.#failWith);
    else this.#invoke(parsed);
  }

  readonly #markCompressed = () => (this.#compression.requestCompressed = true);
  readonly #failWith = (err: unknown) => this.#fail(err);

  #invoke(input: Message): void {
    const fm = this.#fm;
    if (fm.kind === "unary") {
      fm.invoke(this.#ctx, input).then((out) => {
        if (this.#done) return;
        try {
          this.#unaryResponse(out)?.catch(this.#failWith);
        } catch (err) {
          this.#fail(err);
        }
      }, this.#failWith);
    } else if (fm.kind === "server_streaming") {
      fm.invoke(this.#ctx, input)
        .then((it) => this.#serverStream(it))
        .catch(this.#failWith);
    }
  }

  async #serverStream(it: AsyncIterable<unknown>): Promise<void> {
    const output = this.#fm.spec.method.output;
    const iter = it[Symbol.asyncIterator]();
    for (;;) {
      const r = await iter.next();
      // Deadline and client cancel end the call here; server shutdown does
      // not: like connect, the implementation sees ctx.signal and ends the
      // stream itself, after the messages it already yielded.
      if (this.#done) return this.#stopIterator(iter);
      if (r.done === true) break;
      const f = this.#frame(normalize(output, r.value as Message));
      const frame = f instanceof Promise ? await f : f;
      this.#pending.push(frame);
      this.#pendingBytes += frame.length;
      if (this.#pendingBytes >= flushBytes) {
        if (!this.#flush()) await this.#drain();
      } else if (this.#stream.writableNeedDrain) {
        await this.#drain();
      } else {
        this.#flushScheduled ??= setImmediate(() => {
          this.#flushScheduled = undefined;
          this.#flush();
        });
      }
      if (this.#done) return this.#stopIterator(iter);
    }
    this.#flush();
    // A stream that yielded nothing still needs its headers before the
    // trailers (gRPC's status), or the client waits forever.
    this.#respond();
    this.#finish();
    this.#stream.end();
  }

  /**
   * Ends the implementation's stream after a deadline or cancel by throwing
   * the reason into it (as connect does), so its finally blocks run and the
   * interceptors (request log) see the error.
   */
  #stopIterator(iter: AsyncIterator<unknown>): void {
    const reason = this.#ctx.abortReason;
    const p = iter.throw ? iter.throw(reason) : iter.return?.();
    p?.catch(noop);
  }

  /**
   * Serializes (limit: writeMaxBytes), compresses when agreed and large
   * enough (or as the implementation asked), and prefixes the envelope.
   * Synchronous unless it compresses.
   */
  #frame(message: Message): Buffer | Promise<Buffer> {
    const bytes = this.#fm.serialization.getO(true).serialize(message);
    // The implementation may ask for (or against) compression of its next messages.
    const wish = this.#compression.responseCompressed;
    const compression = this.#responseCompression;
    if (compression !== null && (wish ?? bytes.length >= this.#opts.compressMinBytes)) {
      return compression.compress(bytes).then((z) => encodeEnvelope(z, true));
    }
    return encodeEnvelope(bytes, false);
  }

  /** Writes pending messages; false when the stream wants us to wait for 'drain'. */
  #flush(): boolean {
    if (this.#flushScheduled !== undefined) {
      clearImmediate(this.#flushScheduled);
      this.#flushScheduled = undefined;
    }
    if (this.#pendingBytes === 0 || this.#stream.destroyed) return true;
    const data = this.#pending.length === 1 ? this.#pending[0]! : Buffer.concat(this.#pending, this.#pendingBytes);
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#respond();
    return this.#stream.write(data);
  }

  #drain(): Promise<void> {
    this.#waitingForDrain = true;
    return new Promise((resolve) => {
      const done = () => {
        this.#waitingForDrain = false;
        this.#stream.off("drain", done);
        this.#stream.off("close", done);
        resolve();
      };
      this.#stream.on("drain", done);
      this.#stream.on("close", done);
    });
  }

  /** Sends the response headers once, arranging for the trailers. */
  #respond(): void {
    const stream = this.#stream;
    if (stream.headersSent || stream.destroyed) return;
    const h: Record<string, string | number> = { ":status": 200, "content-type": contentType };
    // As connect-node: the negotiated encoding is announced even when a message goes uncompressed.
    if (this.#responseCompression !== null) h["grpc-encoding"] = this.#responseCompression.name;
    headersInto(h, this.#ctx.responseHeaderIfAny);
    stream.respond(h, { waitForTrailers: true });
    // Node emits 'wantTrailers' once per stream; `on` with a shared listener
    // instead of `once` with a closure saves two allocations per call.
    stream.on("wantTrailers", GrpcCall.#onWantTrailers);
  }

  /**
   * A client still sending after the response is complete (e.g. a call that
   * failed on a bad or oversized body) gets RST_STREAM NO_ERROR, as gRPC
   * servers do, so it stops sending; see http/close-answered.ts for why a
   * half-open stream must not linger.
   */
  #closeWhenAnswered(): void {
    const stream = this.#stream;
    if (stream.readableEnded) return;
    setImmediate(() => {
      if (!stream.closed && !stream.destroyed) stream.close(http2.constants.NGHTTP2_NO_ERROR);
    });
  }

  /** OK trailers built as a plain object: connect's setTrailerStatus would cost a Headers per call. */
  #okTrailers(): Record<string, string> {
    const t: Record<string, string> = {};
    headersInto(t, this.#ctx.responseTrailerIfAny);
    t["grpc-status"] = grpcStatusOk;
    return t;
  }

  /** Ends the call with an error: trailers-only if nothing was sent yet, else trailers after the data. */
  #fail(err: unknown): void {
    if (this.#done) return;
    const error =
      err instanceof ConnectError ? err : new ConnectError("internal error", Code.Internal, undefined, undefined, err);
    const t: Record<string, string> = {};
    headersInto(t, setTrailerStatus(new Headers(this.#ctx.responseTrailerIfAny), error));
    const stream = this.#stream;
    // Messages already produced are delivered before the error, as connect does.
    if (this.#pendingBytes > 0 && !stream.destroyed && !stream.closed) this.#flush();
    this.#abort(error);
    if (stream.destroyed || stream.closed) return;
    if (!stream.headersSent) {
      const h: Record<string, string | number> = { ":status": 200, "content-type": contentType };
      headersInto(h, this.#ctx.responseHeaderIfAny);
      stream.respond({ ...h, ...t }, { endStream: true });
      this.#closeWhenAnswered();
    } else if (this.#waitingForDrain) {
      // The client is not reading (flow control holds our data), so trailers
      // could not follow. Reset the stream instead; this also wakes the
      // writer waiting for 'drain'.
      stream.close(http2.constants.NGHTTP2_CANCEL);
    } else {
      this.#trailers = t;
      stream.end();
    }
  }

  #finish(): void {
    this.#done = true;
    this.#req?.close();
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#ctx.release();
  }

  #abort(reason: ConnectError): void {
    this.#req?.abort(reason);
    this.#finish();
    this.#ctx.abort(reason);
    this.#pending = [];
    this.#pendingBytes = 0;
    if (this.#flushScheduled !== undefined) clearImmediate(this.#flushScheduled);
  }
}

function noop(): void {}
