import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { parseDurationMs, type LogConfig } from "./log/config.ts";
import { parseFsyncPolicy } from "./log/durability.ts";
import { defaultConnectionTimeouts, type ConnectionTimeouts } from "./http/connection-timeouts.ts";

/** The services a process can host (`--services`). */
export const serviceNames = ["order", "log", "node"] as const;
export type ServiceName = (typeof serviceNames)[number];

/** Repository root, for defaults that point into the checkout. */
export const repoRoot = fileURLToPath(new URL("../../", import.meta.url));

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

export const defaultServerOptions: ServerOptions = {
  host: "localhost",
  port: 8080,
  dataDir: "./data",
  corsOrigins: ["http://localhost:5173", "http://127.0.0.1:5173"],
  maxMessageBytes: 4 * 1024 * 1024,
  shutdownTimeoutMs: 10_000,
  sniffTimeoutMs: 10_000,
  timeouts: defaultConnectionTimeouts,
  maxConcurrentStreams: 1000,
  maxConnections: 1000,
  logLevel: "info",
  logRequests: true,
  fastPath: true,
  services: [...serviceNames],
  interop: false,
  webDir: path.join(repoRoot, "web", "dist"),
  workerTimeoutMs: 15_000,
  taskRetries: 3,
  commitLog: {},
  registryPrefix: "switchboard/services",
  leaseTtlSeconds: 10,
  deregisterGraceMs: 1500,
  pgPoolSize: 10,
  pgStatementTimeoutMs: 5000,
};

export const usage = `Usage: switchboard-server [options]

  --host HOST              address to bind (default localhost = 127.0.0.1 + ::1)
  --port PORT              port (default 8080, or $PORT; 0 = any free port)
  --data-dir DIR           embedded storage directory (default ./data, or $DATA_DIR)
  --tls-cert FILE          PEM certificate (with --tls-key: TLS, ALPN h2 + http/1.1)
  --tls-key FILE           PEM private key
  --cors-origin ORIGIN     allowed browser origin, repeatable; "*" for any
  --max-message-bytes N    largest message (default 4194304)
  --shutdown-timeout MS    graceful shutdown limit (default 10000)
  --sniff-timeout MS       how long a new plaintext connection may stay silent (default 10000)
  --max-concurrent-streams N  HTTP/2 streams per connection, sent in SETTINGS (default 1000)
  --max-connections N      client connections at once; more are closed on arrival (default 1000, 0 = no limit)
  --header-timeout MS      HTTP/1.1: request headers must arrive within MS, else 408 (default 15000)
  --body-timeout MS        HTTP/1.1: a request body gets MS, plus 1 s per --body-min-rate bytes, else 408 (default 20000)
  --body-min-rate N        HTTP/1.1: bytes per second a body must keep up after its first MS (default 500)
  --keep-alive-timeout MS  HTTP/1.1: close an idle keep-alive connection after MS (default 5000)
  --idle-timeout MS        HTTP/2: GOAWAY to a session without open streams after MS (default 300000)
  --ping-interval MS       HTTP/2: PING every session this often (default 60000)
  --ping-timeout MS        HTTP/2: a session that does not answer a PING within MS is closed (default 20000)
  --log-level LEVEL        trace|debug|info|warn|error|silent (default info)
  --no-request-log         do not log one line per RPC
  --no-fast-path           serve every call through connect-node (bench comparison)
  --services LIST          services to host: order,log,node (default all)
  --interop                also serve grpc.testing.TestService for gRPC interop clients
  --web-dir DIR            built web UI to serve at / (default web/dist)
  --auth-token TOKEN       bearer token for the task calls that change state (or $AUTH_TOKEN)
  --auth-token-file FILE   read the token from a file
  --worker-timeout MS      tasks: a worker silent this long is lost, its tasks re-queued (default 15000)
  --task-retries N         tasks: re-queues before a task fails (default 3)
  --log-fsync POLICY       log: always (fsync before ack, group commit) | interval | never (default always)
  --log-fsync-interval-ms MS  log: fsync period of the interval policy (default 100)
  --log-max-segment-bytes N   log: roll a segment's store file past this size (default 67108864)
  --log-max-index-bytes N     log: roll past this index size, 12 bytes a record (default 6291456)
  --log-max-record-bytes N    log: largest record value; bigger → RESOURCE_EXHAUSTED (default 1048576)
  --log-retention-bytes N     log: remove oldest segments while the log is bigger (default 0 = off)
  --log-retention-age DUR     log: remove segments last written longer ago, e.g. 7d, 12h (default off)
  --etcd URLS              etcd endpoints to register in, comma-separated (or $ETCD_ENDPOINTS)
  --advertise HOST:PORT    address clients should dial (default the bound host:port)
  --registry-prefix P      etcd key prefix (default switchboard/services)
  --lease-ttl SECONDS      registration lease TTL (default 10)
  --deregister-grace-ms MS keep serving this long after deregistering (default 1500)
  --postgres URL           cluster mode: orders, tasks, workers in PostgreSQL (or $DATABASE_URL)
  --pg-pool-size N         PostgreSQL connections per instance (default 10)
  --pg-statement-timeout MS  PostgreSQL statement timeout (default 5000)
  --repair-log             do not serve: cut a damaged tail off the newest log segment (bytes
                           moved to a quarantine file in <data-dir>/log), print what moved, exit
  -h, --help               show this help
`;

/** Parses command-line flags and environment variables into options. */
export async function parseServerArgs(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<Partial<ServerOptions> & { help?: boolean; repairLog?: boolean }> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowNegative: true,
    options: {
      host: { type: "string" },
      port: { type: "string" },
      "data-dir": { type: "string" },
      "tls-cert": { type: "string" },
      "tls-key": { type: "string" },
      "cors-origin": { type: "string", multiple: true },
      "max-message-bytes": { type: "string" },
      "shutdown-timeout": { type: "string" },
      "sniff-timeout": { type: "string" },
      "header-timeout": { type: "string" },
      "max-concurrent-streams": { type: "string" },
      "max-connections": { type: "string" },
      "body-timeout": { type: "string" },
      "body-min-rate": { type: "string" },
      "keep-alive-timeout": { type: "string" },
      "idle-timeout": { type: "string" },
      "ping-interval": { type: "string" },
      "ping-timeout": { type: "string" },
      "log-level": { type: "string" },
      "request-log": { type: "boolean" },
      "fast-path": { type: "boolean" },
      services: { type: "string" },
      interop: { type: "boolean" },
      "web-dir": { type: "string" },
      "auth-token": { type: "string" },
      "auth-token-file": { type: "string" },
      "worker-timeout": { type: "string" },
      "task-retries": { type: "string" },
      "log-fsync": { type: "string" },
      "log-fsync-interval-ms": { type: "string" },
      "log-max-segment-bytes": { type: "string" },
      "log-max-index-bytes": { type: "string" },
      "log-max-record-bytes": { type: "string" },
      "log-retention-bytes": { type: "string" },
      "log-retention-age": { type: "string" },
      etcd: { type: "string" },
      advertise: { type: "string" },
      "registry-prefix": { type: "string" },
      "lease-ttl": { type: "string" },
      "deregister-grace-ms": { type: "string" },
      postgres: { type: "string" },
      "pg-pool-size": { type: "string" },
      "pg-statement-timeout": { type: "string" },
      "repair-log": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  const opts: Partial<ServerOptions> & { help?: boolean; repairLog?: boolean } = {};
  if (values.help) opts.help = true;
  if (values["repair-log"]) opts.repairLog = true;
  const port = values.port ?? env.PORT;
  if (port !== undefined) opts.port = parseNumber("--port", port);
  if (values.host !== undefined) opts.host = values.host;
  const dataDir = values["data-dir"] ?? env.DATA_DIR;
  if (dataDir !== undefined) opts.dataDir = dataDir;
  if (values["tls-cert"] !== undefined) opts.tlsCert = values["tls-cert"];
  if (values["tls-key"] !== undefined) opts.tlsKey = values["tls-key"];
  if ((opts.tlsCert === undefined) !== (opts.tlsKey === undefined)) {
    throw new Error("--tls-cert and --tls-key go together");
  }
  if (values["cors-origin"] !== undefined) opts.corsOrigins = values["cors-origin"];
  if (values["max-message-bytes"] !== undefined) {
    opts.maxMessageBytes = parseNumber("--max-message-bytes", values["max-message-bytes"]);
  }
  if (values["shutdown-timeout"] !== undefined) {
    opts.shutdownTimeoutMs = parseNumber("--shutdown-timeout", values["shutdown-timeout"]);
  }
  if (values["sniff-timeout"] !== undefined) {
    opts.sniffTimeoutMs = parseNumber("--sniff-timeout", values["sniff-timeout"]);
  }
  if (values["max-concurrent-streams"] !== undefined) {
    opts.maxConcurrentStreams = parseNumber("--max-concurrent-streams", values["max-concurrent-streams"]);
    if (opts.maxConcurrentStreams === 0) throw new Error("--max-concurrent-streams must be positive");
  }
  if (values["max-connections"] !== undefined) {
    opts.maxConnections = parseNumber("--max-connections", values["max-connections"]);
  }
  const timeouts: Partial<ConnectionTimeouts> = {};
  const timeoutFlags: Array<[string, keyof ConnectionTimeouts]> = [
    ["header-timeout", "headerTimeoutMs"],
    ["body-timeout", "bodyTimeoutMs"],
    ["body-min-rate", "bodyMinRate"],
    ["keep-alive-timeout", "keepAliveTimeoutMs"],
    ["idle-timeout", "idleTimeoutMs"],
    ["ping-interval", "pingIntervalMs"],
    ["ping-timeout", "pingTimeoutMs"],
  ];
  for (const [flag, key] of timeoutFlags) {
    const v = values[flag as keyof typeof values];
    if (typeof v === "string") timeouts[key] = parseNumber(`--${flag}`, v);
  }
  if (Object.keys(timeouts).length > 0) opts.timeouts = { ...defaultConnectionTimeouts, ...timeouts };
  if (values["log-level"] !== undefined) opts.logLevel = values["log-level"];
  if (values["request-log"] !== undefined) opts.logRequests = values["request-log"];
  if (values["fast-path"] !== undefined) opts.fastPath = values["fast-path"];
  if (values.services !== undefined) opts.services = parseServices(values.services);
  if (values.interop !== undefined) opts.interop = values.interop;
  if (values["web-dir"] !== undefined) opts.webDir = values["web-dir"];
  if (values["worker-timeout"] !== undefined) {
    opts.workerTimeoutMs = parseNumber("--worker-timeout", values["worker-timeout"]);
    if (opts.workerTimeoutMs === 0) throw new Error("--worker-timeout must be positive");
  }
  const etcd = values.etcd ?? env.ETCD_ENDPOINTS;
  if (etcd !== undefined && etcd.trim() !== "") opts.etcd = parseEtcdList(etcd);
  if (values.advertise !== undefined) opts.advertise = parseHostPort("--advertise", values.advertise);
  if (values["registry-prefix"] !== undefined) {
    opts.registryPrefix = values["registry-prefix"].replace(/\/+$/, "");
    if (opts.registryPrefix === "") throw new Error("--registry-prefix must not be empty");
  }
  if (values["lease-ttl"] !== undefined) {
    opts.leaseTtlSeconds = parseNumber("--lease-ttl", values["lease-ttl"]);
    if (opts.leaseTtlSeconds < 2) throw new Error("--lease-ttl must be at least 2 (seconds)");
  }
  if (values["deregister-grace-ms"] !== undefined) {
    opts.deregisterGraceMs = parseNumber("--deregister-grace-ms", values["deregister-grace-ms"]);
  }
  const postgres = values.postgres ?? env.DATABASE_URL;
  if (postgres !== undefined && postgres.trim() !== "") {
    if (!/^postgres(ql)?:\/\//.test(postgres)) throw new Error("--postgres must be a URL like postgres://user@host:5432/db");
    opts.postgres = postgres.trim();
  }
  if (values["pg-pool-size"] !== undefined) {
    opts.pgPoolSize = parseNumber("--pg-pool-size", values["pg-pool-size"]);
    if (opts.pgPoolSize < 2) throw new Error("--pg-pool-size must be at least 2");
  }
  if (values["pg-statement-timeout"] !== undefined) {
    opts.pgStatementTimeoutMs = parseNumber("--pg-statement-timeout", values["pg-statement-timeout"]);
    if (opts.pgStatementTimeoutMs === 0) throw new Error("--pg-statement-timeout must be positive");
  }
  if (values["task-retries"] !== undefined) opts.taskRetries = parseNumber("--task-retries", values["task-retries"]);
  const commitLog: Partial<LogConfig> = {};
  if (values["log-fsync"] !== undefined) commitLog.fsync = parseFsyncPolicy(values["log-fsync"]);
  if (values["log-fsync-interval-ms"] !== undefined) {
    commitLog.fsyncIntervalMs = parseNumber("--log-fsync-interval-ms", values["log-fsync-interval-ms"]);
    if (commitLog.fsyncIntervalMs === 0) throw new Error("--log-fsync-interval-ms must be positive");
  }
  if (values["log-max-segment-bytes"] !== undefined) {
    commitLog.maxStoreBytes = parseNumber("--log-max-segment-bytes", values["log-max-segment-bytes"]);
  }
  if (values["log-max-index-bytes"] !== undefined) {
    commitLog.maxIndexBytes = parseNumber("--log-max-index-bytes", values["log-max-index-bytes"]);
  }
  if (values["log-max-record-bytes"] !== undefined) {
    commitLog.maxRecordBytes = parseNumber("--log-max-record-bytes", values["log-max-record-bytes"]);
  }
  if (values["log-retention-bytes"] !== undefined) {
    commitLog.retentionBytes = parseNumber("--log-retention-bytes", values["log-retention-bytes"]);
  }
  if (values["log-retention-age"] !== undefined) {
    commitLog.retentionAgeMs = parseDurationMs("--log-retention-age", values["log-retention-age"]);
  }
  if (Object.keys(commitLog).length > 0) opts.commitLog = commitLog;
  const tokenFile = values["auth-token-file"];
  const token = values["auth-token"] ?? env.AUTH_TOKEN;
  if (tokenFile !== undefined) {
    const { readFile } = await import("node:fs/promises");
    opts.authToken = (await readFile(tokenFile, "utf8")).trim();
  } else if (token !== undefined && token !== "") {
    opts.authToken = token;
  }
  return opts;
}

function parseNumber(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${flag} must be a non-negative integer, got "${value}"`);
  return n;
}

function parseServices(list: string): ServiceName[] {
  const names = list.split(",").map((s) => s.trim()).filter(Boolean);
  for (const n of names) {
    if (!(serviceNames as readonly string[]).includes(n)) {
      throw new Error(`--services: unknown service "${n}" (known: ${serviceNames.join(", ")})`);
    }
  }
  if (names.length === 0) throw new Error("--services: name at least one service");
  return names as ServiceName[];
}

function parseEtcdList(list: string): string[] {
  const endpoints = list.split(",").map((s) => s.trim()).filter(Boolean);
  for (const e of endpoints) {
    if (!/^https?:\/\/[^/]+\/?$/.test(e)) throw new Error(`--etcd: "${e}" is not a URL like http://127.0.0.1:2379`);
  }
  return endpoints;
}

function parseHostPort(flag: string, value: string): string {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:\s/]+):(\d{1,5})$/.exec(value);
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) throw new Error(`${flag} must be host:port, got "${value}"`);
  return value;
}
