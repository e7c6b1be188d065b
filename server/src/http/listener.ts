import * as http from "node:http";
import * as http2 from "node:http2";
import * as net from "node:net";
import * as fs from "node:fs";
import type { Logger } from "../logger.ts";
import { sniffProtocol } from "./sniff.ts";
import {
  defaultConnectionTimeouts,
  guardHttp2Session,
  guardRequestBody,
  http1ServerOptions,
  type ConnectionTimeouts,
} from "./connection-timeouts.ts";

export type RequestHandler = (
  req: http.IncomingMessage | http2.Http2ServerRequest,
  res: http.ServerResponse | http2.Http2ServerResponse,
) => void;

/** Options of `listen()`. */
export interface ListenOptions {
  /** "localhost" binds 127.0.0.1 and ::1; anything else is bound as given. */
  host: string;
  port: number;
  /** PEM files; with both, the port speaks TLS (ALPN h2, http/1.1). */
  tlsCert?: string;
  tlsKey?: string;
  /** How long a plaintext connection may take to send its first bytes. */
  sniffTimeoutMs: number;
  /** Header/body/keep-alive/idle/PING timeouts; default `defaultConnectionTimeouts`. */
  timeouts?: ConnectionTimeouts;
  /** HTTP/2 settings advertised to clients. */
  http2Settings?: http2.Settings;
  /** Streams one HTTP/2 connection may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS). Default 1000. */
  maxConcurrentStreams?: number;
  /** Client connections open at once; a new one beyond it is closed at once. Default 0 = unlimited. */
  maxConnections?: number;
  /**
   * Optional HTTP/2 fast path: sees every new HTTP/2 stream first (core API)
   * and returns true when it serves it; otherwise `handler` gets the request
   * through Node's compatibility API as usual.
   */
  streamHandler?: (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => boolean;
  logger: Logger;
}

/** A listening port: one or more sockets (IPv4 + IPv6) feeding one handler. */
export interface Listener {
  readonly port: number;
  /** Base URL to reach the server, e.g. "http://127.0.0.1:8080". */
  readonly url: string;
  readonly tls: boolean;
  /** Stops accepting, sends GOAWAY to HTTP/2 sessions and closes idle HTTP/1.1 connections. */
  stopAccepting(): void;
  /** Number of open client connections. */
  connectionCount(): number;
  /** Resolves when every connection has closed. */
  drained(): Promise<void>;
  /** Cuts every remaining connection. */
  destroyAll(): void;
}

/**
 * Serves HTTP/1.1 and HTTP/2 on one port. With TLS, ALPN picks the version.
 * Without TLS, Node has no built-in way to accept both h2c and HTTP/1.1 on one
 * port (nodejs/node#44887), so each connection is sniffed for the HTTP/2
 * preface and handed to an `http2` or `http` server; that dispatch is the only
 * hand-written part.
 */
export async function listen(handler: RequestHandler, opts: ListenOptions): Promise<Listener> {
  const sockets = new Set<net.Socket>();
  const sessions = new Set<http2.Http2Session>();
  const settings: http2.Settings = { maxConcurrentStreams: opts.maxConcurrentStreams ?? 1000, ...opts.http2Settings };
  const tls = opts.tlsCert !== undefined && opts.tlsKey !== undefined;
  const timeouts = opts.timeouts ?? defaultConnectionTimeouts;

  let h2: http2.Http2Server | http2.Http2SecureServer;
  let h1: http.Server | undefined;
  if (tls) {
    h2 = http2.createSecureServer(
      {
        cert: fs.readFileSync(opts.tlsCert!),
        key: fs.readFileSync(opts.tlsKey!),
        allowHTTP1: true,
        ALPNProtocols: ["h2", "http/1.1"],
        settings,
        // The HTTP/1.1 fallback of the TLS server takes http.Server's options.
        ...http1ServerOptions(timeouts),
      },
      handler,
    );
  } else {
    h2 = http2.createServer({ settings }, handler);
    h1 = http.createServer(http1ServerOptions(timeouts), handler);
    h1.on("request", (req: http.IncomingMessage, res: http.ServerResponse) => guardRequestBody(req, res, timeouts));
    // Node checks headersTimeout from a timer it starts on 'listening'
    // (setupConnectionsTracking); this server never listens itself (the
    // sniffer hands it its connections), so start that timer explicitly.
    h1.emit("listening");
    h1.on("clientError", (err: NodeJS.ErrnoException, socket: net.Socket) => {
      if (socket.writable && err.code === "ERR_HTTP_REQUEST_TIMEOUT") {
        // --header-timeout passed (Node's own answer for it, as without a clientError listener).
        socket.end("HTTP/1.1 408 Request Timeout\r\nconnection: close\r\ncontent-length: 0\r\n\r\n");
      } else if (socket.writable && err.code !== "ECONNRESET") {
        socket.end("HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n");
      } else {
        socket.destroy();
      }
    });
  }
  if (opts.streamHandler !== undefined) {
    // Node's compatibility layer is itself a "stream" listener (added when the
    // request handler was). Put the fast path in front of it; streams the fast
    // path declines go to the original listener, so CONNECT, Expect and the
    // request/response objects behave exactly as before.
    const fast = opts.streamHandler;
    const compat = h2.listeners("stream") as Array<(...args: unknown[]) => void>;
    h2.removeAllListeners("stream");
    h2.on("stream", (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, ...rest: unknown[]) => {
      if (fast(stream, headers)) return;
      for (const l of compat) l.call(h2, stream, headers, ...rest);
    });
  }
  if (tls) {
    // As for the plaintext HTTP/1.1 server below: the TLS server's HTTP/1.1
    // fallback checks headersTimeout from a timer started on 'listening'.
    h2.emit("listening");
    h2.on("request", (req: http.IncomingMessage | http2.Http2ServerRequest, res: http.ServerResponse | http2.Http2ServerResponse) => {
      if (req.httpVersionMajor === 1) guardRequestBody(req as http.IncomingMessage, res as http.ServerResponse, timeouts);
    });
  }
  h2.on("session", (s: http2.ServerHttp2Session) => {
    sessions.add(s);
    guardHttp2Session(s, timeouts);
    s.on("close", () => sessions.delete(s));
    s.on("error", (err) => opts.logger.debug({ err: err.message }, "http2 session error"));
  });
  h2.on("sessionError", (err) => opts.logger.debug({ err: err.message }, "http2 session error"));

  const onConnection = (socket: net.Socket) => {
    if (opts.maxConnections !== undefined && opts.maxConnections > 0 && sockets.size >= opts.maxConnections) {
      // net.Server's own maxConnections does the same, but per listening
      // socket (we have one per address) and without a log line.
      opts.logger.debug({ limit: opts.maxConnections }, "connection refused: --max-connections reached");
      socket.destroy();
      return;
    }
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    if (tls) {
      h2.emit("connection", socket);
      return;
    }
    sniffProtocol(socket, opts.sniffTimeoutMs, (proto) => {
      (proto === "h2" ? h2 : h1!).emit("connection", socket);
    });
  };

  const hosts = opts.host === "localhost" ? ["127.0.0.1", "::1"] : [opts.host];
  const servers: net.Server[] = [];
  let port = opts.port;
  for (const [i, host] of hosts.entries()) {
    const server = net.createServer({ noDelay: true }, onConnection);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen({ host, port, ipv6Only: host.includes(":") }, () => {
          server.off("error", reject);
          resolve();
        });
      });
    } catch (err) {
      // The second address of "localhost" is best-effort (IPv6 may be off).
      if (i === 0) throw err;
      opts.logger.warn({ host, err: (err as Error).message }, "could not bind; continuing without it");
      continue;
    }
    port = (server.address() as net.AddressInfo).port;
    servers.push(server);
  }

  const urlHost = hosts[0] === "::" || hosts[0] === "0.0.0.0" ? "127.0.0.1" : hosts[0]!;
  const hostPart = urlHost.includes(":") ? `[${urlHost}]` : urlHost;
  return {
    port,
    url: `${tls ? "https" : "http"}://${hostPart}:${port}`,
    tls,
    stopAccepting() {
      for (const s of servers) s.close();
      for (const s of sessions) {
        if (!s.closed && !s.destroyed) s.close(); // GOAWAY; open streams finish
      }
      h1?.closeIdleConnections();
      // New requests on kept-alive HTTP/1.1 connections get "connection: close".
      h1?.on("request", (_req, res: http.ServerResponse) => res.setHeader("connection", "close"));
    },
    connectionCount: () => sockets.size,
    async drained() {
      while (sockets.size > 0) {
        h1?.closeIdleConnections();
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    destroyAll() {
      for (const s of sessions) s.destroy();
      for (const s of sockets) s.destroy();
    },
  };
}
