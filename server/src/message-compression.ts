import { AsyncLocalStorage } from "node:async_hooks";
import { createContextKey, type HandlerContext } from "@connectrpc/connect";
import type { Compression } from "@connectrpc/connect/protocol";

/**
 * Per-message compression facts of one call, shared between the protocol
 * layer and the implementation — what grpc calls the message's compressed
 * flag and `setMessageCompression()`. connect-es keeps both inside its
 * protocol code; the gRPC interop cases (`expect_compressed`,
 * `response_compressed`) need them in the handler.
 */
export interface MessageCompression {
  /**
   * Set to true by the protocol layer when it decompresses a request message,
   * before that message is handed to the implementation. The reader resets it
   * (see `takeRequestCompressed`), so it tells about the message just read.
   */
  requestCompressed: boolean;
  /**
   * The implementation's wish for the response messages it produces next:
   * true → compress (when the client accepts gzip) whatever the size, false →
   * never, undefined → the server's default (compress from 1 KiB when
   * accepted). The fast path honours all three; on connect-node, `false` is
   * honoured for enveloped responses (gRPC, gRPC-Web, Connect streaming, see
   * `withMessageCompression`) and `true` only from connect's 1 KiB minimum.
   */
  responseCompressed: boolean | undefined;
}

/** The call's MessageCompression in `ctx.values` (set by the fast path). */
export const messageCompressionKey = createContextKey<MessageCompression | undefined>(undefined, {
  description: "switchboard.messageCompression",
});

/** A call served by connect-node, as the compressions given to it see it. */
interface ConnectNodeCall {
  readonly mc: MessageCompression;
  /** The response is made of length-prefixed envelopes with a compressed flag each. */
  readonly enveloped: boolean;
  readonly res: NodeRes;
  /** Envelopes connect flagged compressed that were left uncompressed (`responseCompressed` false). */
  flagsToClear: number;
  /** `res.write` is wrapped to clear those flags. */
  writeWrapped: boolean;
}

/**
 * The call a request handed to connect-node belongs to: server.ts runs each
 * such request inside this store (`withMessageCompression`), and the
 * compressions given to connect-node (`trackDecompression`) find it here.
 */
const connectNodeCall = new AsyncLocalStorage<ConnectNodeCall>();

/** A fresh, unset MessageCompression. */
export function newMessageCompression(): MessageCompression {
  return { requestCompressed: false, responseCompressed: undefined };
}

/** The parts of a Node http/http2 request and response this needs. */
interface NodeReq {
  headers: Record<string, string | string[] | undefined>;
}
interface NodeRes {
  write: (chunk: never, ...rest: never[]) => boolean;
}

/**
 * Runs `fn` — handing a request to connect-node — with its own
 * MessageCompression.
 *
 * connect-node has no per-message compression switch: once it negotiated
 * gzip it compresses every message from 1 KiB and sets the envelope's
 * compressed flag. For an implementation that asked for no compression,
 * `trackDecompression`'s compress leaves the bytes as they are and counts the
 * envelope; the response's `write` (one envelope per write in connect-node)
 * then clears the compressed flag of that envelope. Only for enveloped
 * responses: a Connect unary body is compressed as a whole (Content-Encoding)
 * and always is, when negotiated.
 */
export function withMessageCompression<T>(req: NodeReq, res: NodeRes, fn: () => T): T {
  const ct = String(req.headers["content-type"] ?? "");
  const enveloped = ct.startsWith("application/grpc") || ct.startsWith("application/connect+");
  return connectNodeCall.run({ mc: newMessageCompression(), enveloped, res, flagsToClear: 0, writeWrapped: false }, fn);
}

/** Counts one more envelope whose compressed flag must go; wraps `res.write` for it the first time. */
function clearFlagOfNextEnvelope(call: ConnectNodeCall): void {
  call.flagsToClear++;
  if (call.writeWrapped) return;
  call.writeWrapped = true;
  const res = call.res;
  const write = res.write.bind(res) as (chunk: unknown, ...rest: unknown[]) => boolean;
  res.write = ((chunk: unknown, ...rest: unknown[]) => {
    if (call.flagsToClear > 0 && chunk instanceof Uint8Array && chunk.length >= 5 && (chunk[0]! & 1) === 1) {
      call.flagsToClear--;
      chunk[0] = chunk[0]! & ~1;
    }
    return write(chunk, ...rest);
  }) as NodeRes["write"];
}

/** The MessageCompression of the call `ctx` belongs to, on either path. */
export function messageCompression(ctx: HandlerContext): MessageCompression | undefined {
  return ctx.values.get(messageCompressionKey) ?? connectNodeCall.getStore()?.mc;
}

/** Whether the request message read last arrived compressed; resets the flag for the next one. */
export function takeRequestCompressed(ctx: HandlerContext): boolean {
  const mc = messageCompression(ctx);
  if (mc === undefined) return false;
  const was = mc.requestCompressed;
  mc.requestCompressed = false;
  return was;
}

/**
 * Wraps a Compression given to connect-node so that decompressing a request
 * message marks the call's MessageCompression (connect decompresses each
 * message right before handing it on, in the call's async context), and an
 * implementation's `responseCompressed = false` leaves enveloped messages
 * uncompressed (see `withMessageCompression`).
 */
export function trackDecompression(c: Compression): Compression {
  return {
    name: c.name,
    compress: (bytes) => {
      const call = connectNodeCall.getStore();
      if (call !== undefined && call.enveloped && call.mc.responseCompressed === false) {
        clearFlagOfNextEnvelope(call);
        return Promise.resolve(bytes as Uint8Array<ArrayBuffer>);
      }
      return c.compress(bytes);
    },
    decompress: async (bytes, readMaxBytes) => {
      const out = await c.decompress(bytes, readMaxBytes);
      const call = connectNodeCall.getStore();
      if (call !== undefined) call.mc.requestCompressed = true;
      return out;
    },
  };
}
