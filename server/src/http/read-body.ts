import { Code, ConnectError } from "@connectrpc/connect";
import type { Readable } from "node:stream";

/**
 * Reads a request body of at most `maxBytes` (--max-message-bytes). A bigger
 * declared content-length is refused before reading; a body that runs over
 * while streaming in is refused as soon as it does (the rest is drained, not
 * buffered). Fails with RESOURCE_EXHAUSTED in connect's wording.
 */
export function readBody(
  body: Readable,
  contentLength: string | undefined,
  maxBytes: number,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(contentLength);
    if (contentLength !== undefined && declared > maxBytes) {
      body.resume();
      return reject(tooLarge(`message size ${declared}`, maxBytes));
    }
    const chunks: Buffer[] = [];
    let received = 0;
    let done = false;
    body.on("data", (chunk: Buffer) => {
      if (done) return;
      received += chunk.length;
      if (received > maxBytes) {
        done = true;
        chunks.length = 0;
        return reject(tooLarge("message size", maxBytes));
      }
      chunks.push(chunk);
    });
    body.on("end", () => {
      if (done) return;
      done = true;
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
    });
    const gone = (why: string) => {
      if (done) return;
      done = true;
      chunks.length = 0;
      reject(new ConnectError(`reading the request body failed: ${why}`, Code.Canceled));
    };
    body.on("error", (err) => gone(err.message));
    // The client went away before the end of the body (no "error" on every Node version / HTTP/2).
    body.on("close", () => gone("the client closed the request"));
  });
}

function tooLarge(what: string, max: number): ConnectError {
  return new ConnectError(`${what} is larger than configured readMaxBytes ${max}`, Code.ResourceExhausted);
}
