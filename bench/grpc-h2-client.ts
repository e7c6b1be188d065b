// A minimal gRPC-over-HTTP/2 client for the streaming benches: it sends
// pre-encoded request messages and only counts the response messages (it
// walks the 5-byte length prefixes, never decodes protobuf). Hand-written on
// purpose: a full client (connect-node, grpc-js) spends more CPU per message
// than the servers being compared, so it would measure itself, not them.
import http2 from "node:http2";

/** Length-prefixes one encoded protobuf message (gRPC envelope, uncompressed). */
export function envelope(message: Uint8Array): Buffer {
  const b = Buffer.allocUnsafe(5 + message.length);
  b[0] = 0;
  b.writeUInt32BE(message.length, 1);
  b.set(message, 5);
  return b;
}

/** Counts gRPC response messages as data arrives, across chunk boundaries. */
class EnvelopeCounter {
  messages = 0;
  bytes = 0;
  #header = Buffer.alloc(5);
  #headerBytes = 0;
  #remaining = -1;
  push(chunk: Buffer): void {
    this.bytes += chunk.length;
    let i = 0;
    while (i < chunk.length) {
      if (this.#remaining > 0) {
        const take = Math.min(this.#remaining, chunk.length - i);
        i += take;
        this.#remaining -= take;
        if (this.#remaining === 0) {
          this.messages++;
          this.#remaining = -1;
        }
        continue;
      }
      this.#header[this.#headerBytes++] = chunk[i++]!;
      if (this.#headerBytes === 5) {
        this.#headerBytes = 0;
        this.#remaining = this.#header.readUInt32BE(1);
        if (this.#remaining === 0) {
          this.messages++;
          this.#remaining = -1;
        }
      }
    }
  }
}

export interface StreamResult {
  messages: number;
  seconds: number;
  status: string | undefined;
}

/**
 * Calls `path` on `baseUrl`: writes each request envelope (respecting HTTP/2
 * flow control) until `requests` ends or `untilMessages` responses arrived.
 */
export async function grpcStreamCall(
  baseUrl: string,
  path: string,
  requests: Iterable<Buffer>,
  untilMessages = Infinity,
): Promise<StreamResult> {
  const session = http2.connect(baseUrl);
  session.on("error", () => {});
  try {
    const start = performance.now();
    const stream = session.request({
      ":method": "POST",
      ":path": path,
      "content-type": "application/grpc",
      te: "trailers",
    });
    const counter = new EnvelopeCounter();
    let status: string | undefined;
    let writing = true;
    const done = new Promise<void>((resolve, reject) => {
      stream.on("data", (chunk: Buffer) => {
        counter.push(chunk);
        if (counter.messages >= untilMessages) {
          writing = false;
          resolve();
        }
      });
      stream.on("trailers", (headers) => (status = String(headers["grpc-status"])));
      stream.on("response", (headers) => {
        if (headers["grpc-status"] !== undefined) status = String(headers["grpc-status"]);
      });
      stream.on("end", resolve);
      stream.on("error", reject);
    });
    let n = 0;
    for (const req of requests) {
      if (!writing) break;
      if (!stream.write(req)) await new Promise((resolve) => stream.once("drain", resolve));
      else if (++n % 64 === 0) await new Promise((resolve) => setImmediate(resolve)); // let responses in
    }
    if (writing) stream.end();
    await done;
    const seconds = (performance.now() - start) / 1000;
    stream.close(http2.constants.NGHTTP2_CANCEL);
    return { messages: counter.messages, seconds, status };
  } finally {
    session.close();
    session.destroy();
  }
}

/**
 * `callers` concurrent loops of unary calls on one HTTP/2 connection for
 * `seconds`, each waiting for its response (and grpc-status 0) before the next.
 */
export async function grpcUnaryLoops(
  baseUrl: string,
  path: string,
  request: Buffer,
  callers: number,
  seconds: number,
): Promise<{ records: number; seconds: number }> {
  const session = http2.connect(baseUrl);
  session.on("error", () => {});
  const call = () =>
    new Promise<void>((resolve, reject) => {
      const stream = session.request({ ":method": "POST", ":path": path, "content-type": "application/grpc", te: "trailers" });
      let status: string | undefined;
      stream.on("response", (h) => h["grpc-status"] !== undefined && (status = String(h["grpc-status"])));
      stream.on("trailers", (h) => (status = String(h["grpc-status"])));
      stream.on("data", () => {});
      stream.on("end", () => (status === "0" ? resolve() : reject(new Error(`${path}: grpc-status ${status}`))));
      stream.on("error", reject);
      stream.end(request);
    });
  try {
    const start = performance.now();
    const end = start + seconds * 1000;
    let n = 0;
    await Promise.all(
      Array.from({ length: callers }, async () => {
        while (performance.now() < end) {
          await call();
          n++;
        }
      }),
    );
    return { records: n, seconds: (performance.now() - start) / 1000 };
  } finally {
    session.close();
  }
}

/**
 * `producers` concurrent streams on one connection, each sending its next
 * request only after the previous one was answered (closed loop: one record
 * in flight per producer), for `seconds`.
 */
export async function grpcStreamLockstep(
  baseUrl: string,
  path: string,
  request: Buffer,
  producers: number,
  seconds: number,
): Promise<{ records: number; seconds: number }> {
  const session = http2.connect(baseUrl);
  session.on("error", () => {});
  try {
    const start = performance.now();
    const end = start + seconds * 1000;
    const counts = await Promise.all(
      Array.from(
        { length: producers },
        () =>
          new Promise<number>((resolve, reject) => {
            const stream = session.request({ ":method": "POST", ":path": path, "content-type": "application/grpc", te: "trailers" });
            const counter = new EnvelopeCounter();
            let acked = 0;
            stream.on("data", (chunk: Buffer) => {
              counter.push(chunk);
              if (counter.messages === acked) return;
              acked = counter.messages;
              if (performance.now() < end) stream.write(request);
              else stream.end();
            });
            stream.on("end", () => resolve(acked));
            stream.on("error", reject);
            stream.write(request);
          }),
      ),
    );
    return { records: counts.reduce((a, b) => a + b, 0), seconds: (performance.now() - start) / 1000 };
  } finally {
    session.close();
  }
}
