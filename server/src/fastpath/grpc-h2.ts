import type { Message } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { compressionGzip } from "@connectrpc/connect-node";
import { parseTimeout, setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import * as http2 from "node:http2";
import type { IncomingHttpHeaders, ServerHttp2Stream } from "node:http2";
import { newMessageCompression, type MessageCompression } from "../message-compression.ts";
import { FastContext } from "./fast-context.ts";
import { normalize } from "./invoke.ts";
import type { FastMethod, FastPathOptions } from "./fast-method.ts";
import { RequestStream } from "./request-stream.ts";

const contentType = "application/grpc+proto";
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
 * returns false and is served by connect-node unchanged.
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
    const enc = headers["grpc-encoding"];
    const gzipIn = enc === "gzip";
    if (enc !== undefined && enc !== "identity" && !gzipIn) return false;
    let timeoutMs: number | undefined;
    const t = headers["grpc-timeout"];
    if (t !== undefined) {
      const parsed = parseTimeout(Array.isArray(t) ? t.join(",") : t, Number.MAX_SAFE_INTEGER);
      if (parsed.error) return false;
      timeoutMs = parsed.timeoutMs;
    }
    const acceptGzip = acceptsGzip(headers["grpc-accept-encoding"]);
    new GrpcCall(stream, headers, fm, opts, gzipIn, acceptGzip, timeoutMs);
    return true;
  };
}

function acceptsGzip(v: string | string[] | undefined): boolean {
  if (v === undefined) return false;
  const s = Array.isArray(v) ? v.join(",") : v;
  return s.split(",").some((x) => x.trim() === "gzip");
}

/** One call: read → parse → invoke → write; every exit goes through `finish`. */
class GrpcCall {
  readonly #stream: ServerHttp2Stream;
  readonly #fm: FastMethod;
  readonly #opts: FastPathOptions;
  readonly #ctx: FastContext;
  readonly #gzipIn: boolean;
  readonly #acceptGzip: boolean;
  /** Request compressed flags for the implementation, its wish for the response's (message-compression.ts). */
  readonly #compression: MessageCompression = newMessageCompression();
  #chunks: Buffer[] = [];
  #received = 0;
  /** The declared size of the request message, once its envelope prefix arrived. */
  #declared: number | undefined;
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
    gzipIn: boolean,
    acceptGzip: boolean,
    timeoutMs: number | undefined,
  ) {
    this.#stream = stream;
    this.#fm = fm;
    this.#opts = opts;
    this.#gzipIn = gzipIn;
    this.#acceptGzip = acceptGzip;
    this.#ctx = new FastContext(fm.spec.method, "grpc", "POST", undefined, headers, opts.shutdownSignal, timeoutMs);
    this.#ctx.compression = this.#compression;
    if (timeoutMs !== undefined) {
      this.#timer = setTimeout(
        () => this.#fail(new ConnectError("the operation timed out", Code.DeadlineExceeded)),
        timeoutMs,
      );
    }
    stream.on("error", noop);
    stream.on("close", () => {
      if (!this.#done) this.#abort(new ConnectError("client canceled the call", Code.Canceled));
    });
    if (fm.kind === "client_streaming" || fm.kind === "bidi_streaming") {
      const req = new RequestStream(stream, fm.serialization.getI(true), opts.readMaxBytes, gzipIn);
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
    stream.on("data", (chunk: Buffer) => this.#onData(chunk));
    stream.on("end", () => this.#onEnd());
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

  async #unaryResponse(out: Message): Promise<void> {
    const f = this.#frame(out);
    const frame = f instanceof Promise ? await f : f;
    if (this.#done) return;
    this.#respond(frame[0] === 1);
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
    this.#chunks.push(chunk);
    this.#received += chunk.length;
    if (this.#received < 5) return;
    if (this.#declared === undefined) {
      if (this.#chunks[0]!.length < 5) this.#chunks = [Buffer.concat(this.#chunks)];
      const size = this.#chunks[0]!.readUInt32BE(1);
      if (size > this.#opts.readMaxBytes) {
        this.#chunks = [];
        return this.#fail(
          new ConnectError(
            `message size ${size} is larger than configured readMaxBytes ${this.#opts.readMaxBytes}`,
            Code.ResourceExhausted,
          ),
        );
      }
      this.#declared = size;
    }
    if (this.#received > 5 + this.#declared) {
      this.#chunks = [];
      this.#fail(this.#extraMessage());
    }
  }

  #extraMessage(): ConnectError {
    return new ConnectError(
      `protocol error: received extra input message for ${this.#fm.kind === "unary" ? "unary" : "server-streaming"} method`,
      Code.Unimplemented,
    );
  }

  #onEnd(): void {
    if (this.#done) return;
    const body = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks);
    this.#chunks = [];
    this.#run(body).catch((err: unknown) => this.#fail(err));
  }

  async #run(body: Buffer): Promise<void> {
    if (body.length < 5) {
      throw new ConnectError(
        `protocol error: missing input message for ${this.#fm.kind === "unary" ? "unary" : "server-streaming"} method`,
        Code.Unimplemented,
      );
    }
    const flags = body[0]!;
    const size = body.readUInt32BE(1);
    if (body.length < 5 + size) throw new ConnectError("protocol error: incomplete envelope", Code.InvalidArgument);
    if (body.length > 5 + size) throw this.#extraMessage();
    let data: Uint8Array = body.subarray(5);
    if ((flags & 1) === 1) {
      if (!this.#gzipIn) {
        throw new ConnectError("received compressed envelope, but do not know how to decompress", Code.Internal);
      }
      data = await compressionGzip.decompress(data, this.#opts.readMaxBytes);
      this.#compression.requestCompressed = true;
    }
    const input = this.#fm.serialization.getI(true).parse(data);
    if (this.#fm.kind === "unary") {
      const out = await this.#fm.invoke(this.#ctx, input);
      if (this.#done) return;
      await this.#unaryResponse(out);
    } else if (this.#fm.kind === "server_streaming") {
      await this.#serverStream(await this.#fm.invoke(this.#ctx, input));
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
    this.#respond(this.#acceptGzip);
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
    if (this.#acceptGzip && (wish ?? bytes.length >= this.#opts.compressMinBytes)) {
      return compressionGzip.compress(bytes).then((z) => envelope(z, 1));
    }
    return envelope(bytes, 0);
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
    this.#respond(this.#acceptGzip);
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
  #respond(gzip: boolean): void {
    const stream = this.#stream;
    if (stream.headersSent || stream.destroyed) return;
    const h: Record<string, string | number> = { ":status": 200, "content-type": contentType };
    if (gzip) h["grpc-encoding"] = "gzip";
    this.#ctx.responseHeaderIfAny?.forEach((v, k) => {
      h[k] = v;
    });
    stream.respond(h, { waitForTrailers: true });
    stream.once("wantTrailers", () => {
      if (!stream.destroyed) stream.sendTrailers(this.#trailers ?? this.#okTrailers());
      this.#closeWhenAnswered();
    });
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

  #okTrailers(): Record<string, string> {
    const t: Record<string, string> = {};
    this.#ctx.responseTrailerIfAny?.forEach((v, k) => {
      t[k] = v;
    });
    t["grpc-status"] = "0";
    return t;
  }

  /** Ends the call with an error: trailers-only if nothing was sent yet, else trailers after the data. */
  #fail(err: unknown): void {
    if (this.#done) return;
    const error =
      err instanceof ConnectError ? err : new ConnectError("internal error", Code.Internal, undefined, undefined, err);
    const trailer = new Headers();
    this.#ctx.responseTrailerIfAny?.forEach((v, k) => trailer.set(k, v));
    setTrailerStatus(trailer, error);
    const t: Record<string, string> = {};
    trailer.forEach((v, k) => {
      t[k] = v;
    });
    const stream = this.#stream;
    // Messages already produced are delivered before the error, as connect does.
    if (this.#pendingBytes > 0 && !stream.destroyed && !stream.closed) this.#flush();
    this.#abort(error);
    if (stream.destroyed || stream.closed) return;
    if (!stream.headersSent) {
      const h: Record<string, string | number> = { ":status": 200, "content-type": contentType };
      this.#ctx.responseHeaderIfAny?.forEach((v, k) => {
        h[k] = v;
      });
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

function envelope(bytes: Uint8Array, flag: number): Buffer {
  const frame = Buffer.allocUnsafe(5 + bytes.length);
  frame[0] = flag;
  frame.writeUInt32BE(bytes.length, 1);
  frame.set(bytes, 5);
  return frame;
}

function noop(): void {}
