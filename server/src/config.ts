import type { LogConfig } from "./log/config.ts";
import type { ConnectionTimeouts } from "./http/connection-timeouts.ts";
import type { NatsAuth } from "./log/backend/jetstream.ts";
import { flagDefaults } from "./flags/program.ts";
import type { ServiceName } from "./flags/values.ts";

// Every flag (name, default, environment variable, help, validation) is
// declared once in ./flags/declarations.ts; parsing and `--help` come from there.
export { parseServerArgs, usage } from "./flags/program.ts";
export { repoRoot, type ServiceName } from "./flags/values.ts";

/** `--nats`: the commit log lives in a NATS JetStream stream shared by every instance. */
export interface NatsLogOptions {
  /** NATS URLs (`--nats` or $NATS_URL). */
  servers: string[];
  /** Token (`--nats-token-file`, $NATS_TOKEN), user/password ($NATS_USER, $NATS_PASSWORD) or creds (`--nats-creds`). */
  auth?: NatsAuth;
  /** `--log-stream`; default "switchboard-log". */
  stream?: string;
  /** `--log-replicas`; default 3 when the NATS cluster has ≥ 3 servers, else 1. */
  replicas?: number;
}

/**
 * Everything the server can be told. Every field has a documented default
 * (see `defaultServerOptions`); `start()` takes a partial object.
 */
export interface ServerOptions {
  /**
   * Address to bind. "localhost" (the default) binds 127.0.0.1 and ::1, so
   * both `127.0.0.1` and `localhost` answer and nothing outside the machine
   * does; "0.0.0.0" or "::" expose the server.
   */
  host: string;
  /** TCP port; 0 picks a free one. Default 8080 (or $PORT). */
  port: number;
  /** Directory of the embedded stores. Default "./data" (or $DATA_DIR). */
  dataDir: string;
  /** PEM certificate and key; with both, the port speaks TLS with ALPN h2 + http/1.1. */
  tlsCert?: string;
  tlsKey?: string;
  /** Browser origins allowed by CORS; "*" allows any. Default: the Vite dev server. */
  corsOrigins: string[];
  /** Largest message accepted or sent, in bytes; bigger → RESOURCE_EXHAUSTED. Default 4 MiB. */
  maxMessageBytes: number;
  /** How long a graceful shutdown may take before connections are cut. Default 10 s. */
  shutdownTimeoutMs: number;
  /** How long a new connection may take to show whether it is HTTP/1.1 or HTTP/2. Default 10 s. */
  sniffTimeoutMs: number;
  /**
   * Connection timeouts (server/src/http/connection-timeouts.ts): HTTP/1.1
   * header time (15 s), body time and minimum rate (20 s, then 500 B/s),
   * keep-alive (5 s); HTTP/2 idle session (300 s) and PING keepalive (every
   * 60 s, 20 s to answer). 0 turns one off.
   */
  timeouts: ConnectionTimeouts;
  /**
   * Streams one HTTP/2 connection may have open at once, sent in SETTINGS.
   * Default 1000 (clients that open more at once before they have seen the
   * SETTINGS get REFUSED_STREAM, so a low default would break bursty clients).
   */
  maxConcurrentStreams: number;
  /** Client connections open at once; more are closed on arrival. Default 1000; 0 = unlimited. */
  maxConnections: number;
  /** pino log level; "silent" turns logging off. Default "info". */
  logLevel: string;
  /** Log one line per RPC (method, protocol, code, duration). Default true. */
  logRequests: boolean;
  /**
   * Serve gRPC unary/server-streaming calls (HTTP/2) and Connect unary calls
   * on the hand-written fast path (server/src/fastpath), with the same service
   * implementations and interceptors; false serves everything through
   * connect-node (for comparison in the bench). Default true.
   */
  fastPath: boolean;
  /** Serve Prometheus metrics at GET /metrics (`--no-metrics` turns them off). Default true. */
  metrics: boolean;
  /** Serve /metrics on this separate port instead of the service port (0 = any free port). Default unset: same port. */
  metricsPort?: number;
  /** /metrics without the bearer token even when `authToken` is set. Default false. */
  metricsPublic: boolean;
  /** Services this process hosts. Default all. */
  services: ServiceName[];
  /**
   * Also serve grpc.testing.TestService and grpc.testing.UnimplementedService
   * (grpc's interop test contracts) for gRPC interop clients. Default false.
   */
  interop: boolean;
  /** Directory of the built web UI served at "/"; missing → the UI is not served. Default web/dist. */
  webDir: string;
  /** Bearer token SubmitTask and CancelTask require; unset → open. */
  authToken?: string;
  /** NodeService: a worker without a heartbeat for this long is lost and its tasks re-queued. Default 15 s. */
  workerTimeoutMs: number;
  /** NodeService: times a task is re-queued (lost worker, give-back) before it FAILED. Default 3. */
  taskRetries: number;
  /** LogService commit log (`--log-*` flags); defaults in server/src/log/config.ts. */
  commitLog: Partial<LogConfig>;
  /** Keep the commit log in NATS JetStream instead of `<dataDir>/log` (`--nats`); unset → embedded. */
  nats?: NatsLogOptions;
  /** etcd endpoints to register in (`--etcd` or $ETCD_ENDPOINTS); unset → no registration. */
  etcd?: string[];
  /** "host:port" clients should dial; default the bound host:port (127.0.0.1 for localhost). */
  advertise?: string;
  /** etcd key prefix of service registrations. Default "switchboard/services". */
  registryPrefix: string;
  /** TTL of the registration lease in seconds. Default 10. */
  leaseTtlSeconds: number;
  /** After deregistering at shutdown, keep serving this long before draining (ms). Default 1500. */
  deregisterGraceMs: number;
  /**
   * Cluster mode: orders, tasks and workers live in this PostgreSQL database
   * (`--postgres` or $DATABASE_URL), shared by every instance; unset → the
   * embedded SQLite stores under dataDir.
   */
  postgres?: string;
  /** Connections in the PostgreSQL pool (`--pg-pool-size`). Default 10. */
  pgPoolSize: number;
  /** statement_timeout of every PostgreSQL statement, ms (`--pg-statement-timeout`). Default 5000. */
  pgStatementTimeoutMs: number;
}

/** The declared flag defaults (./flags/declarations.ts), plus what has no flag. */
export const defaultServerOptions: ServerOptions = {
  ...(flagDefaults() as Omit<ServerOptions, "commitLog">),
  commitLog: {},
};
