import { execFile, spawn, type ChildProcess } from "node:child_process";
import { after, before } from "node:test";
import type { ServerProcess } from "./server-process.ts";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
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
  // A unique member name: "endpoint health" alone could be answered by
  // another test's etcd that took the port between freePort() and the bind.
  const name = `sb-${process.pid}-${randomBytes(4).toString("hex")}`;
  let clientPort = 0;
  let endpoint = "";
  let peer = "";
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let stderr = "";
  let stopping = () => {};

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
        "--name", name,
        "--data-dir", dataDir,
        "--listen-client-urls", endpoint,
        "--advertise-client-urls", endpoint,
        "--listen-peer-urls", peer,
        "--initial-advertise-peer-urls", peer,
        "--initial-cluster", `${name}=${peer}`,
        "--log-level", "warn",
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    child = c;
    c.stderr!.on("data", (d) => (stderr = (stderr + String(d)).slice(-4000)));
    let expectedExit = false;
    stopping = () => (expectedExit = true);
    exited = new Promise((resolve) =>
      c.once("exit", (code, signal) => {
        // Say so when etcd dies on its own: tests waiting on it would otherwise just time out.
        if (!expectedExit) process.stderr.write(`etcd ${endpoint} exited unexpectedly (code ${code}, signal ${signal}):\n${stderr}\n`);
        resolve();
      }),
    );
    // Wait until it answers (event-driven on the process, polling etcdctl).
    const deadline = Date.now() + 20_000;
    for (;;) {
      if (c.exitCode !== null || c.signalCode !== null) throw new Error(`etcd exited at start:\n${stderr}`);
      let members: Array<{ name?: string }>;
      try {
        members = (JSON.parse(await etcdctl(["member", "list", "-w", "json"])) as { members?: Array<{ name?: string }> }).members ?? [];
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`etcd did not become healthy: ${(err as Error).message}\n${stderr}`);
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      if (members.some((m) => m.name === name)) return;
      throw new Error(`another etcd answers on ${endpoint}`);
    }
  };

  const stop = async (signal: NodeJS.Signals = "SIGTERM") => {
    const c = child;
    stopping();
    if (c && c.exitCode === null && c.signalCode === null) c.kill(signal);
    await exited;
  };

  // First start: on a port race (another process bound a port first), try new ports.
  for (let attempt = 1; ; attempt++) {
    clientPort = await freePort();
    endpoint = `http://127.0.0.1:${clientPort}`;
    peer = `http://127.0.0.1:${await freePort()}`;
    try {
      await launch();
      break;
    } catch (err) {
      await stop("SIGKILL");
      rmSync(dataDir, { recursive: true, force: true });
      mkdirSync(dataDir);
      if (attempt >= 3) throw err;
    }
  }
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
/** What `etcdFixture()` gives a test file. */
export interface EtcdFixture {
  /** The file's etcd (started in `before`). */
  readonly etcd: EtcdProcess;
  /** Server processes the file started; all are cleaned up in `after`. */
  readonly servers: ServerProcess[];
}

/**
 * One real etcd per test file, started before its tests; after them, every
 * server the file pushed onto `servers` is stopped, then etcd.
 */
export function etcdFixture(): EtcdFixture {
  let etcd: EtcdProcess | undefined;
  const servers: ServerProcess[] = [];
  before(async () => {
    etcd = await startEtcd();
  });
  after(async () => {
    await Promise.all(servers.map((s) => s.cleanup()));
    await etcd?.cleanup();
  });
  return {
    get etcd() {
      if (!etcd) throw new Error("etcd is not started yet (use it inside a test)");
      return etcd;
    },
    servers,
  };
}

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

/** Number of RPC log lines of `method` ("pkg.Service/Method") a server process wrote. */
export function servedCount(logs: ReadonlyArray<Record<string, unknown>>, method: string): number {
  let n = 0;
  for (const l of logs) if (l.msg === "rpc" && l.method === method) n++;
  return n;
}
