import type { Transport } from "@connectrpc/connect";
import type { Protocol } from "../transport.ts";
import type { BackoffOptions } from "@switchboard/common/backoff";

/** A line of what the worker is doing (the CLI prints them as JSON). Never carries commands or output. */
export type WorkerEvent =
  | { event: "started"; workerId: string; capacity: number; workdir: string }
  | { event: "connected"; workerId: string }
  | { event: "disconnected"; workerId: string; error: string; retryInMs: number }
  | { event: "fatal"; workerId: string; code: string; error: string; hint: string }
  | { event: "task-started"; taskId: string; attempt: number }
  | { event: "task-finished"; taskId: string; attempt: number; state: string; reason: string }
  | { event: "report-dropped"; taskId: string; error: string }
  | { event: "draining"; running: number }
  | { event: "hook-failed"; hook: "onStarted" | "onStopping"; error: string }
  | { event: "stopped" };

/** Options of `startWorker()`; only `serverUrl` (or `transport`) is required. */
export interface WorkerOptions {
  /** The master, e.g. "http://localhost:8080". */
  serverUrl?: string;
  /** Use this transport instead of one made from serverUrl/protocol/token (e.g. etcd-balanced). */
  transport?: Transport;
  /** Wire protocol for serverUrl. Default "grpc". */
  protocol?: Protocol;
  /** Bearer token for the master (needed when it has --auth-token). */
  token?: string;
  /** Programs it may run: exact names or absolute paths. Default none (every task fails). */
  allow?: readonly string[];
  /** Labels tasks can require. Default none. */
  labels?: Readonly<Record<string, string>>;
  /** Tasks run at once. Default 1. */
  capacity?: number;
  /** Unique worker id. Default "<hostname>-<pid>". */
  id?: string;
  /** Directory for the per-task directories. Default a new temporary directory (removed on stop). */
  workdir?: string;
  /** Cap of stdout and of stderr per task, bytes. Default 64 KiB. */
  maxOutputBytes?: number;
  /** Time limit of tasks that have none. Default 10 minutes. */
  defaultTimeoutMs?: number;
  /** SIGTERM → SIGKILL grace when a task is stopped. Default 2 s. */
  killGraceMs?: number;
  /** Heartbeat (ReportStatus) interval. Default 5 s. */
  heartbeatIntervalMs?: number;
  /** On stop: how long running tasks may finish before they are killed and given back. Default 30 s. */
  drainTimeoutMs?: number;
  /** Pass the worker's environment to tasks. Default false (see child-env.ts). */
  inheritEnv?: boolean;
  /** Variables set for every task. */
  env?: Readonly<Record<string, string>>;
  /** Reconnect backoff (see @switchboard/common/backoff). Default 200 ms doubling to 10 s, half jitter. */
  backoff?: BackoffOptions;
  /** Progress events. Default: none. */
  onEvent?: (e: WorkerEvent) => void;
  /**
   * Called (in the background) once the first AssignTask stream is
   * registered — the place for e.g. an etcd registration. A throw is
   * reported as a `hook-failed` event and stops the worker.
   */
  onStarted?: (info: { id: string; labels: Readonly<Record<string, string>> }) => void | Promise<void>;
  /** Called first thing in stop(), e.g. to deregister. Errors are reported and ignored. */
  onStopping?: () => void | Promise<void>;
}

export const workerDefaults = {
  protocol: "grpc" as Protocol,
  capacity: 1,
  maxOutputBytes: 64 * 1024,
  defaultTimeoutMs: 10 * 60_000,
  killGraceMs: 2000,
  heartbeatIntervalMs: 5000,
  drainTimeoutMs: 30_000,
} as const;
