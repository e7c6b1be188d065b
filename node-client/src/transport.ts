import * as http from "node:http";
import * as https from "node:https";
import type { Interceptor, Transport } from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
  Http2SessionManager,
} from "@connectrpc/connect-node";

/** The RPC protocols the server speaks on its one port. */
export const protocols = ["grpc", "connect", "grpc-web"] as const;
export type Protocol = (typeof protocols)[number];

/** HTTP versions of the Node transports. gRPC always uses HTTP/2. */
export type HttpVersion = "1.1" | "2";

/** Options of `createTransport()`. */
export interface TransportOptions {
  /** Server URL, e.g. "http://localhost:8080" (h2c) or "https://…" (TLS + ALPN). */
  baseUrl: string;
  /** Default "grpc". */
  protocol?: Protocol;
  /**
   * HTTP version for "connect" and "grpc-web". Default "2" (h2c or h2 over
   * TLS), which every call needs for client and bidi streaming; "1.1" only
   * supports unary and server-streaming calls. "grpc" is always HTTP/2.
   */
  httpVersion?: HttpVersion;
  /** Protobuf binary (default true) or JSON on the wire. */
  useBinaryFormat?: boolean;
  /** Deadline applied to every call that does not pass its own `timeoutMs`. Default none. */
  timeoutMs?: number;
  /** Applied to every call, outermost first. */
  interceptors?: Interceptor[];
  /** HTTP/2 only: close the connection after this long without calls, in ms. Default connect-node's. */
  idleConnectionTimeoutMs?: number;
  /**
   * HTTP/2 only: send a PING this often while calls are open (and before
   * reusing a connection idle this long); a PING unanswered within
   * `pingTimeoutMs` closes the connection and fails its calls with
   * UNAVAILABLE, so a server that stopped answering without closing its
   * sockets (SIGSTOP, a hung host) is noticed. Default off (connect-node's).
   */
  pingIntervalMs?: number;
  /** HTTP/2 only: how long a PING may go unanswered, in ms. Default connect-node's (15000) when pinging. */
  pingTimeoutMs?: number;
}

/** A Transport that owns a connection and can release it. */
export interface ClosableTransport extends Transport {
  /** Closes the connection (HTTP/2 session or HTTP/1.1 keep-alive sockets). */
  close(): Promise<void>;
}

/**
 * A Connect transport from @connectrpc/connect-node for one server. All calls
 * share one HTTP/2 connection (or one keep-alive agent for HTTP/1.1), so the
 * clients of several services built on it use a single connection, and
 * `close()` lets a script's process exit promptly.
 */
export function createTransport(options: TransportOptions): ClosableTransport {
  const protocol = options.protocol ?? "grpc";
  const httpVersion: HttpVersion = protocol === "grpc" ? "2" : (options.httpVersion ?? "2");
  const common = {
    baseUrl: options.baseUrl,
    useBinaryFormat: options.useBinaryFormat ?? true,
    interceptors: options.interceptors ?? [],
    defaultTimeoutMs: options.timeoutMs,
  };
  let transport: Transport;
  let close: () => Promise<void>;
  if (httpVersion === "2") {
    const sessionManager = new Http2SessionManager(options.baseUrl, {
      ...(options.idleConnectionTimeoutMs === undefined ? {} : { idleConnectionTimeoutMs: options.idleConnectionTimeoutMs }),
      ...(options.pingIntervalMs === undefined ? {} : { pingIntervalMs: options.pingIntervalMs }),
      ...(options.pingTimeoutMs === undefined ? {} : { pingTimeoutMs: options.pingTimeoutMs }),
    });
    const h2 = { ...common, httpVersion: "2" as const, sessionManager };
    transport =
      protocol === "grpc"
        ? createGrpcTransport(h2)
        : protocol === "grpc-web"
          ? createGrpcWebTransport(h2)
          : createConnectTransport(h2);
    close = async () => sessionManager.abort();
  } else {
    const agent = options.baseUrl.startsWith("https:")
      ? new https.Agent({ keepAlive: true })
      : new http.Agent({ keepAlive: true });
    const h1 = { ...common, httpVersion: "1.1" as const, nodeOptions: { agent } };
    transport = protocol === "grpc-web" ? createGrpcWebTransport(h1) : createConnectTransport(h1);
    close = async () => agent.destroy();
  }
  return { unary: transport.unary.bind(transport), stream: transport.stream.bind(transport), close };
}
