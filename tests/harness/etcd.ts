import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { requireProgram } from "./tools.ts";

/** A throwaway single-node etcd on loopback (Debian's etcd-server). */
export interface EtcdProcess {
  /** "http://127.0.0.1:PORT" */
  readonly endpoint: string;
  readonly clientPort: number;
  readonly dataDir: string;
  readonly pid: number | undefined;
  /** Stops etcd (by PID) and waits for it to exit; the data dir stays. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Starts etcd again on the same ports and data dir. */
  restart(): Promise<void>;
  /** Runs `etcdctl` (API v3) against it and returns stdout. */
  etcdctl(args: string[]): Promise<string>;
  /** Stops etcd and removes the data dir. */
  cleanup(): Promise<void>;
}

/** A free loopback TCP port (released again before it is used). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** Starts etcd on random loopback ports with a temporary data dir and waits until it answers. */
export async function startEtcd(): Promise<EtcdProcess> {
  const etcdBin = requireProgram("etcd", "Debian package etcd-server");
  const etcdctlBin = requireProgram("etcdctl", "Debian package etcd-client");
  const dataDir = mkdtempSync(path.join(tmpdir(), "switchboard-etcd-"));
  const clientPort = await freePort();
  const peerPort = await freePort();
  const endpoint = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let stderr = "";

  const etcdctl = (args: string[]) =>
    new Promise<string>((resolve, reject) => {
      execFile(
        etcdctlBin,
        ["--endpoints", endpoint, "--dial-timeout", "2s", "--command-timeout", "3s", ...args],
        { env: { ...process.env, ETCDCTL_API: "3" }, timeout: 10_000 },
        (err, stdout, errOut) => (err ? reject(new Error(`etcdctl ${args.join(" ")}: ${errOut || err.message}`)) : resolve(stdout)),
      );
    });

  const launch = async () => {
    stderr = "";
    const c = spawn(
      etcdBin,
      [
        "--name", "default",
        "--data-dir", dataDir,
        "--listen-client-urls", endpoint,
        "--advertise-client-urls", endpoint,
        "--listen-peer-urls", peer,
        "--initial-advertise-peer-urls", peer,
        "--initial-cluster", `default=${peer}`,
        "--log-level", "warn",
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    child = c;
    c.stderr!.on("data", (d) => (stderr = (stderr + String(d)).slice(-4000)));
    exited = new Promise((resolve) => c.once("exit", () => resolve()));
    // Wait until it answers (event-driven on the process, polling etcdctl).
    const deadline = Date.now() + 20_000;
    for (;;) {
      if (c.exitCode !== null || c.signalCode !== null) throw new Error(`etcd exited at start:\n${stderr}`);
      try {
        await etcdctl(["endpoint", "health"]);
        return;
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`etcd did not become healthy: ${(err as Error).message}\n${stderr}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  };

  const stop = async (signal: NodeJS.Signals = "SIGTERM") => {
    const c = child;
    if (c && c.exitCode === null && c.signalCode === null) c.kill(signal);
    await exited;
  };

  await launch();
  return {
    endpoint,
    clientPort,
    dataDir,
    get pid() {
      return child?.pid;
    },
    stop,
    restart: launch,
    etcdctl,
    async cleanup() {
      await stop("SIGKILL");
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Calls that finished, by outcome, during `steadyLoad`. */
export interface LoadResult {
  ok: number;
  failed: number;
  /** The first failures (code and message), for assertion messages. */
  errors: string[];
}

/**
 * Runs `call` from `concurrency` loops until `stop()` is called, counting
 * outcomes. Each loop starts its next call as soon as the previous ends.
 */
export function steadyLoad(
  call: (n: number) => Promise<unknown>,
  concurrency = 4,
): { stop(): Promise<LoadResult>; result: LoadResult } {
  const result: LoadResult = { ok: 0, failed: 0, errors: [] };
  let stopped = false;
  let n = 0;
  const loops = Array.from({ length: concurrency }, async () => {
    while (!stopped) {
      try {
        await call(n++);
        result.ok++;
      } catch (err) {
        result.failed++;
        if (result.errors.length < 10) result.errors.push(String((err as Error).message ?? err));
      }
    }
  });
  return {
    result,
    async stop() {
      stopped = true;
      await Promise.all(loops);
      return result;
    },
  };
}

/** Resolves when `check()` is true (polled every 50 ms); rejects after `timeoutMs`. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Number of RPC log lines of `method` ("pkg.Service/Method") a server process wrote. */
export function servedCount(logs: ReadonlyArray<Record<string, unknown>>, method: string): number {
  let n = 0;
  for (const l of logs) if (l.msg === "rpc" && l.method === method) n++;
  return n;
}
