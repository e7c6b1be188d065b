import type { IncomingHttpHeaders } from "node:http";
import type { ServerHttp2Stream } from "node:http2";

/**
 * The parts of an http or http2 request that the small answerers in this
 * folder (unknown procedures, unary content types on streaming methods) read.
 */
export interface RequestParts {
  method?: string | undefined;
  url?: string | undefined;
  headers: IncomingHttpHeaders;
}

/** The parts of an http or http2 response they write. */
export interface ResponseParts {
  writeHead(statusCode: number, headers: Record<string, string>): unknown;
  end(data: string): unknown;
  /** The HTTP/2 stream of an Http2ServerResponse (absent for HTTP/1.1). */
  stream?: ServerHttp2Stream;
}
