import { Code, ConnectError } from "@connectrpc/connect";
import { compressionGzip } from "@connectrpc/connect-node";
import { codeToHttpStatus, errorToJsonBytes, parseContentType } from "@connectrpc/connect/protocol-connect";
import type { IncomingMessage, ServerResponse } from "node:http";
import * as http2 from "node:http2";
import type { IncomingHttpHeaders, ServerHttp2Stream } from "node:http2";
import type { Readable } from "node:stream";
import { FastContext } from "./fast-context.ts";
import type { FastMethod, FastPathOptions } from "./fast-method.ts";

/** Where a Connect unary response goes: an HTTP/2 stream or an HTTP/1.1 response. */
interface Exchange {
  body: Readable;
  /** Registers the cancel callback (peer went away before the response was written). */
  onClose(cb: () => void): void;
  respond(status: number, headers: Record<string, string | number>, body: Uint8Array): void;
  readonly gone: boolean;
}

/**
 * Connect-protocol unary calls (POST, application/proto or application/json)
 * on HTTP/2 streams and HTTP/1.1 requests, without connect-node's universal
 * request/response conversion and async-iterable pipeline (see grpc-h2.ts for
 * why). Same implementations, interceptors, limits, compression (gzip) and
 * error format (errorToJsonBytes, codeToHttpStatus from connect itself).
 *
 * Declines (returns false → connect-node serves it): GET, streaming content
 * types, a query string, an Origin header (CORS), unknown
 * content-encoding, an unsupported connect-protocol-version, an invalid
 * timeout, methods that are not unary.
 */
export function createConnectUnaryHandler(table: ReadonlyMap<string, FastMethod>, opts: FastPathOptions) {
  const accept = (headers: IncomingHttpHeaders, method: string | undefined, path: string | undefined) => {
    if (method !== "POST" || path === undefined) return undefined;
    const fm = table.get(path);
    if (fm === undefined || fm.kind !== "unary") return undefined;
    if (headers.origin !== undefined) return undefined;
    const type = parseContentType(headers["content-type"] ?? null);
    if (type === undefined || type.stream) return undefined;
    const enc = headers["content-encoding"];
    if (enc !== undefined && enc !== "identity" && enc !== "gzip") return undefined;
    const version = headers["connect-protocol-version"];
    if (version !== undefined && version !== "1") return undefined;
    let timeoutMs: number | undefined;
    const t = headers["connect-timeout-ms"];
    if (t !== undefined) {
      if (typeof t !== "string" || !/^\d{1,10}$/.test(t)) return undefined;
      timeoutMs = parseInt(t, 10);
    }
    const ae = headers["accept-encoding"];
    const acceptGzip = typeof ae === "string" && ae.split(",").some((x) => x.trim().split(";")[0] === "gzip");
    return { fm, binary: type.binary, gzipIn: enc === "gzip", acceptGzip, timeoutMs };
  };

  return {
    http2(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): boolean {
      const a = accept(headers, headers[":method"], headers[":path"]);
      if (a === undefined) return false;
      stream.on("error", noop);
      const ex: Exchange = {
        body: stream,
        onClose: (cb) => stream.on("close", cb),
        respond(status, h, body) {
          if (stream.destroyed || stream.closed) return;
          h[":status"] = status;
          // End with an empty DATA frame after the body (sendTrailers with no
          // fields) rather than END_STREAM on the body itself: when the stream
          // closes before the body's write callback, Node's Writable builds an
          // ERR_STREAM_DESTROYED with a stack trace for nothing
          // (Writable errorBuffer) — 15 % of the CPU of this path in a profile.
          stream.respond(h, { waitForTrailers: true });
          stream.once("wantTrailers", () => {
            if (!stream.destroyed) stream.sendTrailers({});
            // Answered before the body ended (an oversized or bad body): reset
            // the stream (NO_ERROR) so the client stops sending.
            if (!stream.readableEnded) {
              setImmediate(() => {
                if (!stream.closed && !stream.destroyed) stream.close(http2.constants.NGHTTP2_NO_ERROR);
              });
            }
          });
          stream.end(body);
        },
        get gone() {
          return stream.destroyed || stream.closed;
        },
      };
      serve(ex, undefined, headers, a.fm, opts, a.binary, a.gzipIn, a.acceptGzip, a.timeoutMs);
      return true;
    },
    http1(req: IncomingMessage, res: ServerResponse): boolean {
      const url = req.url;
      if (url === undefined || url.includes("?")) return false;
      const a = accept(req.headers, req.method, url);
      if (a === undefined) return false;
      const ex: Exchange = {
        body: req,
        onClose: (cb) => res.on("close", cb),
        respond(status, h, body) {
          if (res.destroyed || res.headersSent) return;
          // Answered before the body ended: close the connection rather than
          // read (and drop) the rest of an oversized body.
          if (!req.complete) h["connection"] = "close";
          res.writeHead(status, h);
          res.end(body);
        },
        get gone() {
          return res.destroyed || res.writableEnded;
        },
      };
      serve(ex, `http://${req.headers.host ?? "localhost"}${url}`, req.headers, a.fm, opts, a.binary, a.gzipIn, a.acceptGzip, a.timeoutMs);
      return true;
    },
  };
}

function serve(
  ex: Exchange,
  url: string | undefined,
  headers: IncomingHttpHeaders,
  fm: FastMethod,
  opts: FastPathOptions,
  binary: boolean,
  gzipIn: boolean,
  acceptGzip: boolean,
  timeoutMs: number | undefined,
): void {
  const ctx = new FastContext(fm.spec.method, "connect", "POST", url, headers, opts.shutdownSignal, timeoutMs);
  let done = false;
  let timer: NodeJS.Timeout | undefined;
  const finish = () => {
    done = true;
    if (timer !== undefined) clearTimeout(timer);
    ctx.release();
  };
  const fail = (err: unknown) => {
    if (done) return;
    const error =
      err instanceof ConnectError ? err : new ConnectError("internal error", Code.Internal, undefined, undefined, err);
    finish();
    ctx.abort(error);
    const h: Record<string, string | number> = {};
    ctx.responseHeaderIfAny?.forEach((v, k) => {
      h[k] = v;
    });
    ctx.responseTrailerIfAny?.forEach((v, k) => {
      h[`trailer-${k}`] = v;
    });
    error.metadata.forEach((v, k) => {
      h[k] = v;
    });
    const body = errorToJsonBytes(error, {});
    h["content-type"] = "application/json";
    h["content-length"] = body.byteLength;
    ex.respond(codeToHttpStatus(error.code), h, body);
  };
  if (timeoutMs !== undefined) {
    timer = setTimeout(() => fail(new ConnectError("the operation timed out", Code.DeadlineExceeded)), timeoutMs);
  }
  ex.onClose(() => {
    if (!done) {
      finish();
      ctx.abort(new ConnectError("client canceled the call", Code.Canceled));
    }
  });

  const declared = Number(headers["content-length"]);
  if (declared > opts.readMaxBytes) {
    ex.body.resume(); // drop the body; the answer does not depend on it
    return fail(tooLarge(declared, opts.readMaxBytes));
  }
  const chunks: Buffer[] = [];
  let received = 0;
  ex.body.on("data", (chunk: Buffer) => {
    if (done) return;
    received += chunk.length;
    if (received > opts.readMaxBytes) return fail(tooLarge(undefined, opts.readMaxBytes));
    chunks.push(chunk);
  });
  ex.body.on("end", () => {
    if (done) return;
    const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
    run(body).catch(fail);
  });

  const run = async (body: Uint8Array) => {
    if (gzipIn) body = await compressionGzip.decompress(body, opts.readMaxBytes);
    const input = fm.serialization.getI(binary).parse(body);
    if (fm.kind !== "unary") throw new ConnectError("not unary", Code.Internal);
    const output = await fm.invoke(ctx, input);
    if (done) return;
    let out: Uint8Array = fm.serialization.getO(binary).serialize(output);
    const h: Record<string, string | number> = {};
    ctx.responseHeaderIfAny?.forEach((v, k) => {
      h[k] = v;
    });
    ctx.responseTrailerIfAny?.forEach((v, k) => {
      h[`trailer-${k}`] = v;
    });
    if (acceptGzip && out.byteLength >= opts.compressMinBytes) {
      out = await compressionGzip.compress(out);
      h["content-encoding"] = "gzip";
    }
    if (done) return;
    h["content-type"] = binary ? "application/proto" : "application/json";
    h["content-length"] = out.byteLength;
    finish();
    ex.respond(200, h, out);
  };
}

/** connect's wording: with the size when content-length declared it, without when reading ran over. */
function tooLarge(size: number | undefined, max: number): ConnectError {
  const what = size === undefined ? "message size" : `message size ${size}`;
  return new ConnectError(`${what} is larger than configured readMaxBytes ${max}`, Code.ResourceExhausted);
}

function noop(): void {}
