import { spawn } from "node:child_process";
import { CappedOutput } from "./capped-output.ts";

/** What to run and under which limits. */
export interface RunSpec {
  /** Absolute path of the program (already checked against the allowlist). */
  file: string;
  args: readonly string[];
  cwd: string;
  env: Record<string, string>;
  /** Time limit; on expiry the process group gets SIGTERM, then SIGKILL after killGraceMs. */
  timeoutMs: number;
  killGraceMs: number;
  /** Cap per stream (stdout, stderr). */
  maxOutputBytes: number;
  /** Aborting stops the process the same way as the time limit; the reason is kept in `stopped`. */
  signal: AbortSignal;
}

/** How a run ended. */
export interface RunOutcome {
  /** Exit code, or -1 when killed by a signal or not started. */
  exitCode: number;
  /** Signal name that ended the process, or "". */
  signal: string;
  durationMs: number;
  stdout: string;
  stderr: string;
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
  /** The time limit expired. */
  timedOut: boolean;
  /** The abort reason, when `signal` aborted before the process ended. */
  stopped?: unknown;
  /** The process could not be started (e.g. "EACCES"). */
  spawnError?: string;
}

/**
 * Runs a program without a shell, in its own process group (detached), so the
 * whole group — children of the child included — can be killed: on time
 * limit or abort (SIGTERM, then SIGKILL after the grace), and always with
 * SIGKILL once the main process has exited, so nothing it left behind in its
 * group outlives the task.
 */
export function runProcess(spec: RunSpec): Promise<RunOutcome> {
  return new Promise((resolve) => {
    const started = performance.now();
    const stdout = new CappedOutput(spec.maxOutputBytes);
    const stderr = new CappedOutput(spec.maxOutputBytes);
    let timedOut = false;
    let stopped: unknown;
    let graceTimer: NodeJS.Timeout | undefined;
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let done = false;

    const child = spawn(spec.file, spec.args, {
      shell: false,
      detached: true,
      cwd: spec.cwd,
      env: spec.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const killGroup = (sig: NodeJS.Signals) => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, sig);
      } catch {
        // ESRCH: the group is gone already.
      }
    };
    const terminate = () => {
      if (exit || graceTimer) return;
      killGroup("SIGTERM");
      graceTimer = setTimeout(() => killGroup("SIGKILL"), spec.killGraceMs);
    };
    const limit = setTimeout(() => {
      timedOut = true;
      terminate();
    }, spec.timeoutMs);
    const onAbort = () => {
      stopped = spec.signal.reason;
      terminate();
    };
    if (spec.signal.aborted) onAbort();
    else spec.signal.addEventListener("abort", onAbort, { once: true });

    const finish = (spawnError?: string) => {
      if (done) return;
      done = true;
      clearTimeout(limit);
      clearTimeout(graceTimer);
      spec.signal.removeEventListener("abort", onAbort);
      resolve({
        exitCode: exit?.code ?? -1,
        signal: exit?.signal ?? "",
        durationMs: Math.round(performance.now() - started),
        stdout: stdout.text(),
        stderr: stderr.text(),
        stdoutTruncated: stdout.truncated,
        stderrTruncated: stderr.truncated,
        timedOut,
        stopped,
        spawnError,
      });
    };

    child.stdout.on("data", (d: Buffer) => stdout.write(d));
    child.stderr.on("data", (d: Buffer) => stderr.write(d));
    child.once("error", (err: NodeJS.ErrnoException) => {
      if (child.pid === undefined) finish(err.code ?? err.message);
    });
    child.once("exit", (code, signal) => {
      exit = { code, signal };
      // Whatever the task started in its group dies with it.
      killGroup("SIGKILL");
      // Pipes close once every holder is gone; a process that escaped the
      // group (setsid) could hold them open, so do not wait for it forever.
      const closeWait = setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
        finish();
      }, 1000);
      child.once("close", () => {
        clearTimeout(closeWait);
        finish();
      });
    });
  });
}
