import type { IncomingMessage } from "node:http";
import { constants, type Http2ServerRequest } from "node:http2";

/**
 * Once the response of an HTTP/2 call is completely sent (status and
 * trailers), resets a stream the client still holds open with RST_STREAM
 * NO_ERROR, as gRPC servers do (PROTOCOL-HTTP2.md) — e.g. a client-streaming
 * call that failed, timed out or was ended by shutdown while the client was
 * still sending. Without it the half-open stream stays counted against the
 * session's stream limit and keeps the session from closing after GOAWAY, so a
 * graceful shutdown waits for its timeout. Node's http2 compatibility API has
 * no option for this, hence the hand-written hook.
 */
export function closeWhenAnswered(req: IncomingMessage | Http2ServerRequest): void {
  if (!("stream" in req)) return;
  const stream = req.stream;
  // Node's compatibility response sends its trailers (empty for Connect) from
  // its own 'wantTrailers' listener, registered before this one; once they are
  // out the response is complete. ('finish' on the response would only come
  // when the stream closes, which is what the client is not doing.)
  stream.once("wantTrailers", () => {
    setImmediate(() => {
      if (!stream.closed && !stream.destroyed) stream.close(constants.NGHTTP2_NO_ERROR);
    });
  });
}
