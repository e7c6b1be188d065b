import type * as http from "node:http";
import type * as http2 from "node:http2";

/** Connection timeouts (all in ms; 0 turns one off). Defaults in `defaultConnectionTimeouts`. */
export interface ConnectionTimeouts {
  /** HTTP/1.1: the request headers must be complete within this long (Node's headersTimeout → 408). */
  headerTimeoutMs: number;
  /**
   * HTTP/1.1: a request body must arrive within this long, extended by one
   * second per `bodyMinRate` bytes received (mod_reqtimeout's
   * `body=20,MinRate=500`); else 408 and the connection is closed.
   */
  bodyTimeoutMs: number;
  /** Bytes per second that extend `bodyTimeoutMs` by a second. */
  bodyMinRate: number;
  /** HTTP/1.1: an idle keep-alive connection is closed after this long. */
  keepAliveTimeoutMs: number;
  /** HTTP/2: a session without open streams for this long gets GOAWAY and closes. */
  idleTimeoutMs: number;
  /** HTTP/2: a PING is sent this often to every session… */
  pingIntervalMs: number;
  /** …and a session that does not answer it within this long is destroyed (a dead peer). */
  pingTimeoutMs: number;
}

export const defaultConnectionTimeouts: ConnectionTimeouts = {
  headerTimeoutMs: 15_000,
  bodyTimeoutMs: 20_000,
  bodyMinRate: 500,
  keepAliveTimeoutMs: 5_000,
  idleTimeoutMs: 300_000,
  pingIntervalMs: 60_000,
  pingTimeoutMs: 20_000,
};

/**
 * Options for `http.createServer`: Node enforces the header timeout itself,
 * but only checks it every `connectionsCheckingInterval` (default 30 s), so
 * that interval is shortened to make a 15 s limit mean about 15 s.
 */
export function http1ServerOptions(t: ConnectionTimeouts): http.ServerOptions {
  return {
    keepAliveTimeout: t.keepAliveTimeoutMs,
    headersTimeout: t.headerTimeoutMs,
    // Node requires requestTimeout ≥ headersTimeout when both are set; the body has its own guard.
    requestTimeout: 0,
    connectionsCheckingInterval: Math.max(100, Math.min(1_000, Math.floor(t.headerTimeoutMs / 4) || 1_000)),
  };
}

/**
 * Guards the body of one HTTP/1.1 request: a client that sends it slower
 * than the minimum rate (after the initial allowance) gets 408 and the
 * connection is closed. Why hand-written: Node only has `requestTimeout`, a
 * fixed limit for the whole request, which a slow-but-legitimate large upload
 * would hit and a trickle under it would not. Time the server itself is not
 * reading (data waiting unread in the request stream) is not held against
 * the client.
 */
export function guardRequestBody(req: http.IncomingMessage, res: http.ServerResponse, t: ConnectionTimeouts): void {
  if (t.bodyTimeoutMs === 0 || req.complete) return;
  const socket = req.socket;
  const startBytes = socket.bytesRead;
  let deadline = Date.now() + t.bodyTimeoutMs;
  let lastBytes = startBytes;
  const check = setInterval(() => {
    if (req.complete || socket.destroyed) return stop();
    const now = Date.now();
    if (req.readableLength > 0) {
      deadline = Math.max(deadline, now + 1_000); // the server is behind, not the client
      return;
    }
    const bytes = socket.bytesRead;
    if (t.bodyMinRate > 0 && bytes > lastBytes) {
      deadline += ((bytes - lastBytes) / t.bodyMinRate) * 1_000;
      lastBytes = bytes;
    }
    if (now < deadline) return;
    stop();
    if (!res.headersSent && !res.destroyed) {
      const body = JSON.stringify({ code: "deadline_exceeded", message: "request body too slow: request timeout" });
      res.writeHead(408, { "content-type": "application/json", connection: "close", "content-length": Buffer.byteLength(body) });
      res.end(body, () => socket.destroy());
      setTimeout(() => socket.destroy(), 1_000).unref(); // the 408 is best effort
    } else {
      socket.destroy();
    }
  }, Math.min(1_000, Math.max(50, Math.floor(t.bodyTimeoutMs / 10))));
  check.unref();
  const stop = () => clearInterval(check);
  req.once("end", stop);
  req.once("close", stop);
}

/**
 * Idle timeout and keepalive of one HTTP/2 session: GOAWAY after
 * `idleTimeoutMs` without open streams (a stream that is open — a log tail,
 * a task watch, a worker's AssignTask — keeps the session, however quiet),
 * and a PING every `pingIntervalMs`; no PING ACK within `pingTimeoutMs` means
 * the peer is gone, and the session is destroyed, ending its streams. Why
 * hand-written: Node's `session.setTimeout` counts any inactivity, so it would
 * cut quiet long-lived streams, and Node has no PING keepalive.
 */
export function guardHttp2Session(session: http2.ServerHttp2Session, t: ConnectionTimeouts): void {
  let open = 0;
  // One timer per session, restarted (refresh) each time the last open stream
  // closes, rather than a new timer per idle period: a client making one call
  // at a time goes idle after every call. When it fires while streams are
  // open, it does nothing; the next close restarts it.
  let idle: NodeJS.Timeout | undefined;
  const armIdle = () => {
    if (t.idleTimeoutMs === 0 || open > 0 || session.closed || session.destroyed) return;
    if (idle === undefined) {
      idle = setTimeout(() => {
        if (open === 0 && !session.closed && !session.destroyed) session.close(); // GOAWAY
      }, t.idleTimeoutMs);
      idle.unref();
    } else {
      idle.refresh();
    }
  };
  const onStreamClose = () => {
    open--;
    armIdle();
  };
  session.on("stream", (stream: http2.ServerHttp2Stream) => {
    open++;
    stream.once("close", onStreamClose);
  });
  armIdle();

  let ping: NodeJS.Timeout | undefined;
  if (t.pingIntervalMs > 0) {
    ping = setInterval(() => {
      if (session.closed || session.destroyed) return;
      const dead = setTimeout(() => session.destroy(), t.pingTimeoutMs);
      dead.unref();
      try {
        const sent = session.ping((err) => {
          clearTimeout(dead);
          if (err !== null && !session.destroyed) session.destroy();
        });
        if (!sent) clearTimeout(dead); // too many unacknowledged PINGs: the next interval retries
      } catch {
        clearTimeout(dead); // the session is closing
      }
    }, t.pingIntervalMs);
    ping.unref();
  }
  session.once("close", () => {
    if (idle !== undefined) clearTimeout(idle);
    if (ping !== undefined) clearInterval(ping);
  });
}
