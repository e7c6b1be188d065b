// Child processes of the local cluster, each in its own process group
// (spawn's `detached` = setsid), so one signal to the group reaches the
// process and anything it forked (runuser + postgres, etc.).
import { spawn, type ChildProcess } from "node:child_process";
import { openSync, closeSync } from "node:fs";

/** A started component process. */
export interface GroupProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly pid: number;
  /** Resolves when the process has exited. */
  readonly exited: Promise<void>;
  /** Whether it is still running. */
  running(): boolean;
  /**
   * Sends `signal` to the process group and waits up to `timeoutMs` for the
   * process to exit; then SIGKILLs the group. Resolves once it is gone.
   */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<void>;
}

/** Options of `spawnGroup()`. */
export interface SpawnGroupOptions {
  /** Appends stdout and stderr to this file; default: ignored. */
  logFile?: string;
  env?: NodeJS.ProcessEnv;
  /** Pipe stdout instead of writing it to `logFile` (stderr still goes there). */
  pipeStdout?: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Whether any process of group `pgid` is alive. */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Signals a process group; false when it is already gone. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

/** Groups started here and still running: killed if this process exits without stopping them. */
const live = new Set<number>();
let exitHook = false;
function track(pid: number, exited: Promise<void>): void {
  live.add(pid);
  void exited.then(() => live.delete(pid));
  if (exitHook) return;
  exitHook = true;
  // Last resort (a crashed test, an uncaught error): leave nothing running behind us.
  process.once("exit", () => {
    for (const g of live) signalGroup(g, "SIGKILL");
  });
}

/** For `.catch()` after a failed start: stops `proc`, then rethrows. */
export function stopAndThrow(proc: GroupProcess, signal: NodeJS.Signals = "SIGTERM"): (err: unknown) => Promise<never> {
  return async (err) => {
    await proc.stop(signal);
    throw err;
  };
}

/** Starts `cmd args` as the leader of a new process group. */
export function spawnGroup(name: string, cmd: string, args: string[], opts: SpawnGroupOptions = {}): GroupProcess {
  const fd = opts.logFile ? openSync(opts.logFile, "a") : undefined;
  const out = fd ?? "ignore";
  const child = spawn(cmd, args, {
    detached: true,
    env: opts.env ?? process.env,
    stdio: ["ignore", opts.pipeStdout ? "pipe" : out, out],
  });
  if (fd !== undefined) closeSync(fd); // the child has its own copy
  const exited = new Promise<void>((resolve) => {
    child.once("exit", () => resolve());
    child.once("error", () => resolve());
  });
  const pid = child.pid ?? -1;
  if (pid > 0) track(pid, exited);
  const running = () => child.exitCode === null && child.signalCode === null && pid > 0;
  return {
    name,
    child,
    pid,
    exited,
    running,
    async stop(signal = "SIGTERM", timeoutMs = 10_000) {
      if (pid <= 0) return;
      signalGroup(pid, signal);
      const deadline = Date.now() + timeoutMs;
      // The leader's exit is not enough: wait for the whole group.
      while (groupAlive(pid) && Date.now() < deadline) await sleep(50);
      if (groupAlive(pid)) {
        signalGroup(pid, "SIGKILL");
        const hard = Date.now() + 5_000;
        while (groupAlive(pid) && Date.now() < hard) await sleep(50);
      }
      if (running()) await Promise.race([exited, sleep(2_000)]);
    },
  };
}
