import { spawn, type ChildProcess } from "node:child_process";
import { tmpdir } from "node:os";
import path from "node:path";
import { repoRoot } from "./server-process.ts";

/** node-client/src/cli/main.ts: the `switchboard` CLI entry. */
export const cliMain = path.join(repoRoot, "node-client/src/cli/main.ts");

/** What a finished CLI run produced. */
export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Options of `runCli()`. */
export interface RunCliOptions {
  /** Written to stdin, which is then closed; default: stdin closed at once. */
  input?: string;
  env?: NodeJS.ProcessEnv;
  /** Kill with SIGKILL after this long (a hang is a failure, not a wait). Default 30 s. */
  timeoutMs?: number;
  /** Program to run instead of the CLI entry (e.g. the bin launcher). */
  entry?: string;
}

/**
 * Runs `switchboard ARGS…` as a subprocess with the test's Node and resolves
 * when it exits. SWITCHBOARD_* variables of the test's environment are
 * dropped so every test says what it means.
 */
export function runCli(args: string[], opts: RunCliOptions = {}): Promise<CliResult> {
  const child = spawnCli(args, opts);
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d) => (stdout += String(d)));
  child.stderr!.on("data", (d) => (stderr += String(d)));
  child.stdin!.end(opts.input ?? "");
  const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 30_000);
  return new Promise((resolve) =>
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    }),
  );
}

/** Starts the CLI with piped stdio (for long-running commands such as `log tail --follow`). */
export function spawnCli(args: string[], opts: Pick<RunCliOptions, "env" | "entry"> = {}): ChildProcess {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("SWITCHBOARD_")) env[k] = v;
  return spawn(process.execPath, [opts.entry ?? cliMain, ...args], {
    cwd: repoRoot,
    // Node's compile cache makes the many short CLI runs of a test cheaper.
    env: { NODE_COMPILE_CACHE: path.join(tmpdir(), "switchboard-test-compile-cache"), ...env, ...opts.env },
    stdio: ["pipe", "pipe", "pipe"],
  });
}

/** Parses NDJSON output: one JSON value per non-empty line. */
export function jsonLines<T = Record<string, unknown>>(text: string): T[] {
  return text
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as T);
}
