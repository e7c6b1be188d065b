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
   * accepted). Honoured fully by the fast path; stock connect-node has no
   * per-message switch and only follows its default.
   */
  responseCompressed: boolean | undefined;
}

/** The call's MessageCompression in `ctx.values` (set by the fast path). */
export const messageCompressionKey = createContextKey<MessageCompression | undefined>(undefined, {
  description: "switchboard.messageCompression",
});

/**
 * The MessageCompression of a call served by connect-node: server.ts runs
 * each request it hands to connect-node inside this store, and the
 * compressions given to connect-node (`trackDecompression`) mark it.
 */
const connectNodeCall = new AsyncLocalStorage<MessageCompression>();

/** A fresh, unset MessageCompression. */
export function newMessageCompression(): MessageCompression {
  return { requestCompressed: false, responseCompressed: undefined };
}

/** Runs `fn` (a request handed to connect-node) with its own MessageCompression. */
export function withMessageCompression<T>(fn: () => T): T {
  return connectNodeCall.run(newMessageCompression(), fn);
}

/** The MessageCompression of the call `ctx` belongs to, on either path. */
export function messageCompression(ctx: HandlerContext): MessageCompression | undefined {
  return ctx.values.get(messageCompressionKey) ?? connectNodeCall.getStore();
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
 * message right before handing it on, in the call's async context).
 */
export function trackDecompression(c: Compression): Compression {
  return {
    name: c.name,
    compress: (bytes) => c.compress(bytes),
    decompress: async (bytes, readMaxBytes) => {
      const out = await c.decompress(bytes, readMaxBytes);
      const mc = connectNodeCall.getStore();
      if (mc !== undefined) mc.requestCompressed = true;
      return out;
    },
  };
}
