// Every server flag, declared once. Order = order in `--help` and in each docs table.
import path from "node:path";
import { defaultConnectionTimeouts, type ConnectionTimeouts } from "../http/connection-timeouts.ts";
import { defaultLogConfig, parseDurationMs, type LogConfig } from "../log/config.ts";
import { fsyncPolicies, parseFsyncPolicy } from "../log/durability.ts";
import { flag, type Draft, type Flag } from "./flag.ts";
import { atLeast, parseHostPort, parseNumber, parseServices, repoRoot, serviceNames, urlList } from "./values.ts";

/** A connection timeout flag (server/src/http/connection-timeouts.ts). */
function timeout(name: string, key: keyof ConnectionTimeouts, help: string, doc: string, unit = "MS"): Flag {
  return flag<number>({
    name, arg: unit, group: "server", default: defaultConnectionTimeouts[key], help, doc,
    docDefault: key === "bodyMinRate" ? `${defaultConnectionTimeouts[key]} B/s` : `${defaultConnectionTimeouts[key]} ms`,
    parse: parseNumber,
    apply: (o, v) => (o.timeouts = { ...(o.timeouts ?? defaultConnectionTimeouts), [key]: v }),
  });
}

/** A commit log flag; its default lives in `defaultLogConfig`. */
function logFlag<K extends keyof LogConfig>(name: string, arg: string, key: K, help: string, doc: string, parse: (t: string, f: string) => LogConfig[K], docDefault?: string): Flag {
  return flag<LogConfig[K]>({
    name, arg, group: "log", default: defaultLogConfig[key], inDefaults: false, help, doc, parse,
    ...(docDefault !== undefined ? { docDefault, defaultText: docDefault } : {}),
    apply: (o, v) => (o.commitLog = { ...o.commitLog, [key]: v }),
  });
}

const set = <K extends keyof Draft>(key: K) => (o: Draft, v: Draft[K]) => void (o[key] = v);

export const serverFlags: Flag[] = [
  flag<string>({ name: "host", arg: "HOST", group: "server", default: "localhost", defaultText: "localhost = 127.0.0.1 + ::1",
    docDefault: "`localhost`",
    help: "address to bind; 0.0.0.0 or :: expose the server",
    doc: "address to bind; `localhost` binds 127.0.0.1 **and** ::1 (loopback only); use `0.0.0.0` / `::` to expose",
    apply: set("host") }),
  flag<number>({ name: "port", arg: "PORT", group: "server", env: "PORT", default: 8080,
    help: "port (0 = any free port)", doc: "port; `0` picks a free one", parse: parseNumber, apply: set("port") }),
  flag<string>({ name: "data-dir", arg: "DIR", group: "server", env: "DATA_DIR", default: "./data",
    help: "embedded storage directory", doc: "embedded storage", apply: set("dataDir") }),
  flag<string>({ name: "tls-cert", arg: "FILE", group: "server",
    help: "PEM certificate (with --tls-key: TLS, ALPN h2 + http/1.1)",
    doc: "PEM certificate; with `--tls-key` the same port speaks TLS, ALPN `h2` and `http/1.1`", apply: set("tlsCert") }),
  flag<string>({ name: "tls-key", arg: "FILE", group: "server", help: "PEM private key", doc: "PEM private key (with `--tls-cert`)", apply: set("tlsKey") }),
  flag<string[]>({ name: "cors-origin", arg: "ORIGIN", repeatable: true, group: "server",
    default: ["http://localhost:5173", "http://127.0.0.1:5173"], defaultText: "the Vite dev server", docDefault: "Vite dev server origins",
    help: 'allowed browser origin, repeatable; "*" for any', doc: "allowed browser origins (repeatable), `*` for any", apply: set("corsOrigins") }),
  flag<number>({ name: "max-message-bytes", arg: "N", group: "server", default: 4 * 1024 * 1024, docDefault: "4 MiB",
    help: "largest message accepted or sent; bigger → RESOURCE_EXHAUSTED", doc: "larger messages → `RESOURCE_EXHAUSTED`",
    parse: parseNumber, apply: set("maxMessageBytes") }),
  flag<number>({ name: "shutdown-timeout", arg: "MS", group: "server", default: 10_000, docDefault: "10000 ms",
    help: "graceful shutdown limit", parse: parseNumber, apply: set("shutdownTimeoutMs") }),
  flag<number>({ name: "sniff-timeout", arg: "MS", group: "server", default: 10_000, docDefault: "10000 ms",
    help: "how long a new plaintext connection may stay silent",
    doc: "how long a new plaintext connection may stay silent (or send only part of the HTTP/2 preface) before it is closed",
    parse: parseNumber, apply: set("sniffTimeoutMs") }),
  flag<number>({ name: "max-concurrent-streams", arg: "N", group: "server", default: 1000,
    help: "HTTP/2 streams per connection, sent in SETTINGS",
    doc: "HTTP/2 streams one connection may have open at once, sent in SETTINGS; more → `REFUSED_STREAM`",
    parse: atLeast(1), apply: set("maxConcurrentStreams") }),
  flag<number>({ name: "max-connections", arg: "N", group: "server", default: 1000,
    help: "client connections at once; more are closed on arrival (0 = no limit)",
    doc: "client connections open at once (all addresses together); a new one beyond it is closed on arrival; 0 = no limit",
    parse: parseNumber, apply: set("maxConnections") }),
  timeout("header-timeout", "headerTimeoutMs", "HTTP/1.1: request headers must arrive within MS, else 408",
    "HTTP/1.1: the request headers must be complete within this long (one byte a second is cut off) → 408, connection closed"),
  timeout("body-timeout", "bodyTimeoutMs", "HTTP/1.1: a request body gets MS, plus 1 s per --body-min-rate bytes, else 408",
    "HTTP/1.1: a request body gets this long, extended by 1 s per `--body-min-rate` bytes received (mod_reqtimeout's `body=20,MinRate=500`) → else 408, connection closed"),
  timeout("body-min-rate", "bodyMinRate", "HTTP/1.1: bytes per second a body must keep up after its first MS", "see `--body-timeout`", "N"),
  timeout("keep-alive-timeout", "keepAliveTimeoutMs", "HTTP/1.1: close an idle keep-alive connection after MS",
    "HTTP/1.1: an idle keep-alive connection is closed"),
  timeout("idle-timeout", "idleTimeoutMs", "HTTP/2: GOAWAY to a session without open streams after MS",
    "HTTP/2: a session with no open stream for this long gets GOAWAY and is closed"),
  timeout("ping-interval", "pingIntervalMs", "HTTP/2: PING every session this often", "HTTP/2: every session gets a PING this often…"),
  timeout("ping-timeout", "pingTimeoutMs", "HTTP/2: a session that does not answer a PING within MS is closed",
    "…and one that does not answer within this long is closed (a dead peer; its streams end)"),
  flag<string>({ name: "log-level", arg: "LEVEL", group: "server", default: "info",
    help: "trace|debug|info|warn|error|silent",
    doc: "pino level, JSON lines on stdout (written in batches: a line appears at most 5 ms after it was logged); `--no-request-log` turns off the per-RPC line",
    apply: set("logLevel") }),
  flag<boolean>({ name: "request-log", negatable: true, group: "server", default: true, docDefault: "request log on",
    help: "do not log one line per RPC", doc: "no per-RPC log line (method, protocol, code, duration, trace id)", apply: set("logRequests") }),
  flag<number>({ name: "worker-timeout", arg: "MS", group: "server", default: 15_000, docDefault: "15000 ms",
    help: "tasks: a worker silent this long is lost, its tasks re-queued",
    doc: "tasks: a worker without a heartbeat this long is lost and its tasks re-queued — see [Tasks](tasks.md#tasks-and-workers-nodev1nodeservice)",
    parse: atLeast(1), apply: set("workerTimeoutMs") }),
  flag<number>({ name: "task-retries", arg: "N", group: "server", default: 3,
    help: "tasks: re-queues before a task fails", doc: "tasks: re-queues (lost worker, give-back) before a task is `FAILED`",
    parse: parseNumber, apply: set("taskRetries") }),
  flag<ReadonlyArray<string>>({ name: "services", arg: "LIST", group: "server", default: serviceNames, defaultText: "all",
    docDefault: `\`${serviceNames.join(",")}\``,
    help: `services to host: ${serviceNames.join(",")}`, doc: "services this process hosts (and registers in etcd)",
    parse: parseServices, apply: (o, v) => (o.services = [...v] as Draft["services"]) }),
  flag<string>({ name: "web-dir", arg: "DIR", group: "server", default: path.join(repoRoot, "web", "dist"), defaultText: "web/dist",
    help: "built web UI to serve at /", doc: "the built web UI served at `/`", apply: set("webDir") }),
  flag<boolean>({ name: "interop", group: "server", default: false,
    help: "also serve grpc.testing.TestService for gRPC interop clients",
    doc: "also serve `grpc.testing.TestService` and `grpc.testing.UnimplementedService` for gRPC interop clients — see [Interop](interop.md#grpc-interop-test-cases)",
    apply: set("interop") }),
  flag<boolean>({ name: "fast-path", negatable: true, group: "server", default: true, docDefault: "fast path on",
    help: "serve every call through connect-node (bench comparison)",
    doc: "serve every call through stock connect-node (for comparisons; see [Benchmarks](benchmarks.md#benchmarks))",
    apply: set("fastPath") }),
  flag<string>({ name: "postgres", arg: "URL", group: "server", env: "DATABASE_URL",
    help: "cluster mode: orders, tasks, workers in PostgreSQL",
    doc: "cluster mode: orders, tasks and workers in this PostgreSQL database, shared by every instance — see [Cluster mode](cluster-mode.md#orders-and-tasks-on-postgresql)",
    parse: (text) => {
      if (text.trim() === "") return undefined;
      if (!/^postgres(ql)?:\/\//.test(text)) throw new Error("--postgres must be a URL like postgres://user@host:5432/db");
      return text.trim();
    },
    apply: set("postgres") }),
  flag<number>({ name: "pg-pool-size", arg: "N", group: "server", default: 10,
    help: "PostgreSQL connections per instance", doc: "PostgreSQL connections per instance (plus one for LISTEN)",
    parse: atLeast(2), apply: set("pgPoolSize") }),
  flag<number>({ name: "pg-statement-timeout", arg: "MS", group: "server", default: 5000, docDefault: "5000 ms",
    help: "PostgreSQL statement timeout", doc: "`statement_timeout` of every PostgreSQL statement",
    parse: atLeast(1), apply: set("pgStatementTimeoutMs") }),
  flag<string>({ name: "auth-token", arg: "TOKEN", group: "server", env: "AUTH_TOKEN",
    help: "bearer token for the task calls that change state (visible in ps: prefer the file or the variable)",
    doc: "bearer token the task system's state-changing calls require — see [Tasks](tasks.md#tasks-and-workers-nodev1nodeservice); `--auth-token T` shows the secret in `ps`: prefer `--auth-token-file` or the variable",
    parse: (text) => (text === "" ? undefined : text), apply: set("authToken") }),
  flag<string>({ name: "auth-token-file", arg: "FILE", group: "server",
    help: "read the token from a file (wins over --auth-token)", doc: "read the bearer token from FILE (content trimmed); wins over `--auth-token`",
    apply: set("authTokenFile") }),
  flag<boolean>({ name: "metrics", negatable: true, group: "server", default: true, docDefault: "metrics on",
    help: "do not serve Prometheus metrics at /metrics",
    doc: "do not serve Prometheus metrics (`GET /metrics`) — see [Observability](observability.md#observability-prometheus-metrics-and-traces)",
    apply: set("metrics") }),
  flag<number>({ name: "metrics-port", arg: "PORT", group: "server", docDefault: "same port",
    help: "serve /metrics on this port instead of the service port (0 = any free port)",
    doc: "serve `/metrics` on this separate port instead (`0` = any free port); the service port then does not serve it",
    parse: parseNumber, apply: set("metricsPort") }),
  flag<boolean>({ name: "metrics-public", group: "server", default: false,
    help: "/metrics without the bearer token even when --auth-token is set",
    doc: "serve `/metrics` without the bearer token even when `--auth-token` is set (by default it needs `authorization: Bearer <token>` then)",
    apply: set("metricsPublic") }),

  logFlag("log-fsync", fsyncPolicies.join("|"), "fsync", "log: always (fsync before ack, group commit) | interval | never",
    "durability policy (table above)", (t) => parseFsyncPolicy(t)),
  logFlag("log-fsync-interval-ms", "MS", "fsyncIntervalMs", "log: fsync period of the interval policy", "fsync period of `interval`", atLeast(1)),
  logFlag("log-max-segment-bytes", "N", "maxStoreBytes", "log: roll a segment's store file past this size",
    "roll a segment before its store file passes N bytes", parseNumber),
  logFlag("log-max-index-bytes", "N", "maxIndexBytes", "log: roll past this index size, 12 bytes a record",
    "roll before the index passes N bytes (12 per record)", parseNumber),
  logFlag("log-max-record-bytes", "N", "maxRecordBytes", "log: largest record value; bigger → RESOURCE_EXHAUSTED",
    "largest value; keep below `--max-message-bytes`; with `--nats` also capped below NATS's `max_payload` (1 MiB by default) minus 512 bytes for headers", parseNumber),
  logFlag("log-retention-bytes", "N", "retentionBytes", "log: remove oldest segments while the log is bigger",
    "remove oldest whole segments while the log's files exceed N bytes (with `--nats`: the stream's `max_bytes`)", parseNumber, "0 (off)"),
  logFlag("log-retention-age", "DUR", "retentionAgeMs", "log: remove segments last written longer ago, e.g. 7d, 12h",
    "remove segments last written longer ago than DUR (`500ms`, `90s`, `15m`, `24h`, `7d`; with `--nats`: the stream's `max_age`)",
    (t, f) => parseDurationMs(f, t), "off"),
  flag<boolean>({ name: "repair-log", group: "log", default: false,
    help: "do not serve: cut a damaged tail off the newest log segment (bytes moved to a quarantine file in <data-dir>/log), print what moved, exit",
    doc: "do not serve: cut a damaged tail off the newest segment into a quarantine file, print what moved, exit (see above)",
    inDefaults: false, apply: (o, v) => void (v && (o.repairLog = true)) }),

  flag<string[]>({ name: "nats", arg: "URLS", group: "nats", env: "NATS_URL", docDefault: "unset → embedded log",
    help: "log: keep the log in NATS JetStream, comma-separated URLs",
    doc: "comma-separated NATS URLs; selects the JetStream backend",
    parse: urlList(/^(nats|tls):\/\/[^/\s]+\/?$/, "nats://127.0.0.1:4222"), apply: set("natsServers") }),
  flag<string>({ name: "nats-token-file", arg: "FILE", group: "nats",
    help: "log: NATS token from a file (or $NATS_TOKEN; $NATS_USER + $NATS_PASSWORD)",
    doc: "token for a secured NATS (or `$NATS_TOKEN`; user/password from `$NATS_USER`, `$NATS_PASSWORD`)", apply: set("natsTokenFile") }),
  flag<string>({ name: "nats-creds", arg: "FILE", group: "nats", help: "log: NATS credentials file (JWT + nkey)",
    doc: "NATS credentials file (JWT + nkey seed)", apply: set("natsCreds") }),
  flag<string>({ name: "log-stream", arg: "NAME", group: "nats", default: "switchboard-log", inDefaults: false,
    help: "log: JetStream stream name", doc: "stream name; records go to subject `NAME.records`",
    parse: (t, f) => {
      if (!/^[A-Za-z0-9_-]{1,200}$/.test(t)) throw new Error(`${f} must be letters, digits, - or _, got "${t}"`);
      return t;
    },
    apply: set("natsStream") }),
  flag<number>({ name: "log-replicas", arg: "N", group: "nats", defaultText: "3 when NATS has >= 3 servers, else 1",
    docDefault: "3 when the NATS cluster has ≥ 3 servers (its advertised `connect_urls`, or the URLs given), else 1",
    help: "log: stream replicas", doc: "stream replicas",
    parse: (t, f) => {
      const n = parseNumber(t, f);
      if (n < 1 || n > 5) throw new Error(`${f} must be 1 to 5`);
      return n;
    },
    apply: set("natsReplicas") }),

  flag<string[]>({ name: "etcd", arg: "URLS", group: "registry", env: "ETCD_ENDPOINTS", docDefault: "off",
    help: "etcd endpoints to register in, comma-separated", doc: "comma-separated etcd endpoints",
    parse: urlList(/^https?:\/\/[^/]+\/?$/, "http://127.0.0.1:2379"), apply: set("etcd") }),
  flag<string>({ name: "advertise", arg: "HOST:PORT", group: "registry", defaultText: "the bound host:port",
    docDefault: "bound host:port (`localhost` → `127.0.0.1`, `0.0.0.0` → host name)",
    help: "address clients should dial", doc: "address clients dial", parse: parseHostPort, apply: set("advertise") }),
  flag<string>({ name: "registry-prefix", arg: "P", group: "registry", default: "switchboard/services",
    help: "etcd key prefix", doc: "key prefix",
    parse: (t, f) => {
      const p = t.replace(/\/+$/, "");
      if (p === "") throw new Error(`${f} must not be empty`);
      return p;
    },
    apply: set("registryPrefix") }),
  flag<number>({ name: "lease-ttl", arg: "SECONDS", group: "registry", default: 10,
    help: "registration lease TTL", doc: "lease TTL: how long keys outlive a dead process",
    parse: atLeast(2, "must be at least 2 (seconds)"), apply: set("leaseTtlSeconds") }),
  flag<number>({ name: "deregister-grace-ms", arg: "MS", group: "registry", default: 1500,
    help: "keep serving this long after deregistering", doc: "serving time after deregistering, before draining",
    parse: parseNumber, apply: set("deregisterGraceMs") }),
  flag<boolean>({ name: "help", short: "h", group: "server", undocumented: true, help: "show this help", apply: (o, v) => void (v && (o.help = true)) }),
];
