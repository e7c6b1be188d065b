import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { createInterface } from "node:readline";
import { repoRoot } from "./server-process.ts";

/** Options of `startWorkerProcess()`. */
export interface WorkerProcessOptions {
  /** Master URL; undefined → none (e.g. `--etcd` in `args`: discovery; `--server` would win over it). */
  serverUrl: string | undefined;
  id: string;
  /** --allow entries. */
  allow?: string[];
  labels?: Record<string, string>;
  capacity?: number;
  token?: string;
  /** Extra flags of `switchboard worker`. */
  args?: string[];
  /** Extra environment variables (e.g. SWITCHBOARD_TOKEN). */
  env?: NodeJS.ProcessEnv;
}

/** A real `switchboard worker` process. */
export interface WorkerProcess {
  readonly id: string;
  readonly child: ChildProcess;
  readonly pid: number;
  /** Every JSON event line (stderr) so far. */
  readonly events: Array<Record<string, unknown>>;
  /** Resolves with the first event (past or future) matching `pred`. */
  waitForEvent(pred: (e: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL if still running. */
  cleanup(): Promise<void>;
}

/** Starts `node node-client/src/cli/main.ts worker …` (same Node binary as the test). */
export function startWorkerProcess(opts: WorkerProcessOptions): WorkerProcess {
  const args = [
    path.join(repoRoot, "node-client/src/cli/main.ts"),
    "worker",
    ...(opts.serverUrl !== undefined ? ["--server", opts.serverUrl] : []),
    "--id", opts.id,
    "--capacity", String(opts.capacity ?? 1),
    ...(opts.allow?.length ? ["--allow", opts.allow.join(",")] : []),
    ...Object.entries(opts.labels ?? {}).flatMap(([k, v]) => ["--label", `${k}=${v}`]),
    ...(opts.token ? ["--token", opts.token] : []),
    ...(opts.args ?? []),
  ];
  const child = spawn(process.execPath, args, { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, ...opts.env } });
  const events: Array<Record<string, unknown>> = [];
  const waiters = new Set<{ pred: (e: Record<string, unknown>) => boolean; resolve: (e: Record<string, unknown>) => void }>();
  let stderr = "";
  createInterface({ input: child.stderr! }).on("line", (line) => {
    let e: Record<string, unknown>;
    try {
      e = JSON.parse(line) as Record<string, unknown>;
    } catch {
      stderr += line + "\n";
      return;
    }
    events.push(e);
    for (const w of [...waiters]) {
      if (w.pred(e)) {
        waiters.delete(w);
        w.resolve(e);
      }
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  const stop = async (signal: NodeJS.Signals = "SIGTERM") => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    return exited;
  };
  return {
    id: opts.id,
    child,
    pid: child.pid!,
    events,
    waitForEvent(pred, timeoutMs = 30_000) {
      const seen = events.find(pred);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const w = { pred, resolve: (e: Record<string, unknown>) => (clearTimeout(timer), resolve(e)) };
        const timer = setTimeout(() => {
          waiters.delete(w);
          reject(new Error(`worker ${opts.id}: no matching event in ${timeoutMs}ms; events: ${JSON.stringify(events)}; stderr: ${stderr}`));
        }, timeoutMs);
        waiters.add(w);
      });
    },
    stop,
    exited,
    async cleanup() {
      await stop("SIGKILL");
    },
  };
}
