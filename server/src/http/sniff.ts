import type { Socket } from "node:net";

/** The 24 bytes every HTTP/2 connection starts with (RFC 9113 §3.4). */
const preface = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

/**
 * Reads just enough of a new plaintext connection to tell HTTP/2 prior
 * knowledge (h2c) from HTTP/1.x, puts the bytes back and reports the result.
 * A partial preface is buffered until it is complete or stops matching; a
 * connection that sends nothing within `timeoutMs` or closes early is
 * destroyed without calling back, so idle or half-open sockets do not leak.
 */
export function sniffProtocol(
  socket: Socket,
  timeoutMs: number,
  callback: (protocol: "h2" | "http/1.1") => void,
): void {
  let seen: Buffer = Buffer.alloc(0);
  const timer = setTimeout(() => socket.destroy(), timeoutMs);
  timer.unref();
  const cleanup = () => {
    clearTimeout(timer);
    socket.off("readable", onReadable);
    socket.off("end", onEnd);
  };
  const onEnd = () => {
    cleanup();
    socket.destroy();
  };
  const decide = (protocol: "h2" | "http/1.1") => {
    cleanup();
    socket.unshift(seen);
    callback(protocol);
  };
  const onReadable = () => {
    let chunk: Buffer | null;
    while ((chunk = socket.read() as Buffer | null) !== null) {
      seen = seen.length === 0 ? chunk : Buffer.concat([seen, chunk]);
      const n = Math.min(seen.length, preface.length);
      if (seen.compare(preface, 0, n, 0, n) !== 0) return decide("http/1.1");
      if (seen.length >= preface.length) return decide("h2");
    }
  };
  socket.on("readable", onReadable);
  socket.on("end", onEnd);
}
