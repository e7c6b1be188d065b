// A throwaway PostgreSQL 15 for tests, per /work/shared/cluster-backends.md:
// initdb + postgres run as the `postgres` user (PostgreSQL refuses root) in a
// temp dir it owns, TCP on 127.0.0.1 only, its own process group (setsid),
// stopped with SIGINT ("fast" shutdown) to that group. Every wait is bounded.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";

export const pgBin = "/usr/lib/postgresql/15/bin";

/** A running throwaway PostgreSQL. */
export interface TestPostgres {
  /** postgres://postgres@127.0.0.1:PORT/switchboard */
  readonly url: string;
  readonly port: number;
  /** Stops the server (fast shutdown); the data stays for `restart()`. */
  stop(): Promise<void>;
  /** Starts it again on the same port and data (after `stop()`). */
  restart(): Promise<void>;
  /** A fresh empty database on this server; returns its URL. */
  createDatabase(name: string): Promise<string>;
  /** Stops it and removes its files. */
  cleanup(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** initdb + start + `createdb switchboard`. Throws (never skips) when PostgreSQL 15 is missing. */
export async function startPostgres(): Promise<TestPostgres> {
  if (!existsSync(path.join(pgBin, "postgres"))) {
    throw new Error(`PostgreSQL 15 is not installed (${pgBin}/postgres): run scripts/test.sh, which installs it`);
  }
  const dir = mkdtempSync(path.join(tmpdir(), "switchboard-pg-"));
  const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim());
  const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim());
  chownSync(dir, uid, gid);
  const asPostgres = (cmd: string, args: string[]) => ["-u", "postgres", "--", path.join(pgBin, cmd), ...args];
  execFileSync("runuser", asPostgres("initdb", ["-D", path.join(dir, "data"), "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--no-locale"]), {
    stdio: "pipe",
    timeout: 60_000,
  });
  const port = await freePort();
  let child: ChildProcess | undefined;

  const startServer = async () => {
    child = spawn(
      "runuser",
      asPostgres("postgres", ["-D", path.join(dir, "data"), "-p", String(port), "-c", "listen_addresses=127.0.0.1", "-c", `unix_socket_directories=${dir}`]),
      { detached: true, stdio: "ignore" }, // detached = setsid: its own process group
    );
    const started = child;
    const deadline = Date.now() + 20_000;
    for (;;) {
      try {
        const c = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${port}/postgres`, connectionTimeoutMillis: 1000 });
        await c.connect();
        await c.end();
        return;
      } catch (err) {
        if (started.exitCode !== null) throw new Error(`postgres exited with ${started.exitCode}`);
        if (Date.now() > deadline) throw new Error(`postgres did not accept connections: ${(err as Error).message}`);
        await sleep(100);
      }
    }
  };
  const stopServer = async () => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((r) => c.once("exit", r));
    try {
      process.kill(-c.pid!, "SIGINT");
    } catch {
      return;
    }
    const done = await Promise.race([exited.then(() => true), sleep(10_000).then(() => false)]);
    if (!done) {
      try {
        process.kill(-c.pid!, "SIGKILL");
      } catch {}
      await Promise.race([exited, sleep(5_000)]);
    }
  };

  await startServer();
  const admin = async (sql: string) => {
    const c = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${port}/postgres` });
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  };
  await admin("CREATE DATABASE switchboard");
  return {
    url: `postgres://postgres@127.0.0.1:${port}/switchboard`,
    port,
    stop: stopServer,
    restart: startServer,
    async createDatabase(name) {
      await admin(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
    async cleanup() {
      await stopServer();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
