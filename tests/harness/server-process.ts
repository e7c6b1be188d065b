import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

export const repoRoot = fileURLToPath(new URL("../../", import.meta.url));

/** Options of `startServerProcess()`. */
export interface ServerProcessOptions {
  /** Extra flags for server/src/main.ts. */
  args?: string[];
  /** Data directory; default a fresh temporary one (removed by `cleanup()`). */
  dataDir?: string;
  /** Fixed port; default 0 (a free one). */
  port?: number;
  env?: NodeJS.ProcessEnv;
  /** Milliseconds to wait for the "serving" line. Default 15 s. */
  startTimeoutMs?: number;
}

/** A real server process on loopback. */
export interface ServerProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly port: number;
  /** "http://127.0.0.1:PORT" */
  readonly url: string;
  readonly dataDir: string;
  /** Every JSON log line so far, parsed. */
  readonly logs: Array<Record<string, unknown>>;
  /** Sends a signal and resolves with the exit code/signal once the process has exited. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves when the process exits. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Stops (SIGKILL if still running) and removes a temporary data dir. */
  cleanup(): Promise<void>;
}

/**
 * Starts `node server/src/main.ts` on 127.0.0.1 with a random port and waits
 * until it logs that it is serving. Uses the same Node binary as the test.
 */
export async function startServerProcess(opts: ServerProcessOptions = {}): Promise<ServerProcess> {
  const ownDir = opts.dataDir === undefined;
  const dataDir = opts.dataDir ?? mkdtempSync(path.join(tmpdir(), "switchboard-test-"));
  const child = spawn(
    process.execPath,
    [
      path.join(repoRoot, "server/src/main.ts"),
      "--host", "127.0.0.1",
      "--port", String(opts.port ?? 0),
      "--data-dir", dataDir,
      ...(opts.args ?? []),
    ],
    { env: { ...process.env, ...opts.env }, stdio: ["ignore", "pipe", "pipe"] },
  );
  const logs: Array<Record<string, unknown>> = [];
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr += String(d)));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      // Never leave a half-started server behind a failed test.
      child.kill("SIGKILL");
      reject(new Error(`server did not start in time; stderr:\n${stderr}`));
    }, opts.startTimeoutMs ?? 15_000);
    createInterface({ input: child.stdout! }).on("line", (line) => {
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      logs.push(entry);
      if (typeof entry.port === "number" && entry.url) {
        clearTimeout(timer);
        resolve(entry.port);
      }
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`server exited early (code ${code}, signal ${signal}); stderr:\n${stderr}`));
    });
  });
  const stop = async (signal: NodeJS.Signals = "SIGTERM") => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    return exited;
  };
  return {
    child,
    pid: child.pid!,
    port,
    url: `http://127.0.0.1:${port}`,
    dataDir,
    logs,
    stop,
    exited,
    async cleanup() {
      await stop("SIGKILL");
      if (ownDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
