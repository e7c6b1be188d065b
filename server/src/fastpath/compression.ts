import { compressionGzip } from "@connectrpc/connect-node";
import { compressionNegotiate, type Compression } from "@connectrpc/connect/protocol";
import type { IncomingHttpHeaders } from "node:http";

/** The compression the fast paths serve themselves; other encodings are left to connect-node. */
export type FastCompression = { request: Compression | null; response: Compression | null };

/**
 * connect's negotiation (`compressionNegotiate`, so the fast paths pick what
 * connect-node would, e.g. answer gzip to a gzip request without an accept
 * header) over the one compression the fast paths implement, gzip, from the
 * request's `encoding` and `accept` headers. Undefined when the request's
 * encoding is another: connect-node, which knows more (brotli) or answers
 * the error, serves it.
 */
export function negotiateCompression(
  headers: IncomingHttpHeaders,
  encoding: "grpc-encoding" | "content-encoding",
  accept: "grpc-accept-encoding" | "accept-encoding",
): FastCompression | undefined {
  const n = compressionNegotiate([compressionGzip], joined(headers[encoding]), joined(headers[accept]), accept);
  return n.error === undefined ? n : undefined;
}

/** A header value as connect's `Headers.get` returns it. */
export function joined(v: string | string[] | undefined): string | null {
  return v === undefined ? null : Array.isArray(v) ? v.join(", ") : v;
}
