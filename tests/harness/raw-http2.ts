import * as http2 from "node:http2";

/** What a raw HTTP/2 exchange returned. */
export interface RawResponse {
  headers: http2.IncomingHttpHeaders;
  /** Trailers (or, for a trailers-only gRPC response, the headers again). */
  trailers: http2.IncomingHttpHeaders;
  body: Buffer;
  /** grpc-status from trailers or trailers-only headers, as a number. */
  grpcStatus: number | undefined;
  grpcMessage: string | undefined;
}

/**
 * One request over a fresh h2c connection with exactly the given body bytes,
 * for tests that must send what no well-behaved client would (bad frames,
 * wrong content types). `body` is written and the stream ended.
 */
export function rawHttp2(
  baseUrl: string,
  path: string,
  body: Uint8Array,
  headers: http2.OutgoingHttpHeaders = {},
  timeoutMs = 20_000,
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(baseUrl);
    const timer = setTimeout(() => {
      session.destroy();
      reject(new Error(`no response within ${timeoutMs} ms`));
    }, timeoutMs);
    session.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    const req = session.request({
      ":method": "POST",
      ":path": path,
      "content-type": "application/grpc",
      te: "trailers",
      ...headers,
    });
    let resHeaders: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    req.on("response", (h) => (resHeaders = h));
    req.on("trailers", (t) => (trailers = t));
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("error", (err) => {
      clearTimeout(timer);
      session.destroy();
      reject(err);
    });
    req.on("close", () => {
      clearTimeout(timer);
      session.close();
      const from = trailers["grpc-status"] !== undefined ? trailers : resHeaders;
      const status = from["grpc-status"];
      resolve({
        headers: resHeaders,
        trailers,
        body: Buffer.concat(chunks),
        grpcStatus: status === undefined ? undefined : Number(status),
        grpcMessage: from["grpc-message"] === undefined ? undefined : decodeURIComponent(String(from["grpc-message"])),
      });
    });
    req.end(body);
  });
}

/** A gRPC length-prefixed message: flags 0, big-endian length, bytes. */
export function grpcFrame(message: Uint8Array, declaredLength = message.length): Buffer {
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(declaredLength, 1);
  return Buffer.concat([prefix, message]);
}
