// One PostgreSQL server on loopback for the local cluster, per
// /work/shared/cluster-backends.md: run as the `postgres` user when we are
// root (PostgreSQL refuses root), TCP on 127.0.0.1 only, the Unix socket in
// its own directory, stopped with SIGINT ("fast" shutdown). The data
// directory is created once (initdb) and reused on the next start.
import { execFileSync, spawnSync } from "node:child_process";
import { chownSync, existsSync, mkdirSync, readdirSync } from "node:fs";
import path from "node:path";
import { spawnGroup, stopAndThrow, type GroupProcess } from "./process-group.ts";
import { tail, waitFor } from "./wait.ts";

/** The newest installed /usr/lib/postgresql/N/bin, or undefined. */
export function findPgBin(): string | undefined {
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => existsSync(path.join(root, v, "bin", "postgres")))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? path.join(root, versions[0], "bin") : undefined;
}

/** Options of `startPostgres()`. */
export interface PostgresOptions {
  /** Directory for data (`DIR/data`), socket and log. */
  dir: string;
  port: number;
  /** Database to create (when missing). Default "switchboard". */
  database?: string;
  /** Directory of initdb/postgres/pg_isready/psql; default `findPgBin()`. */
  bin?: string;
}

/** A running PostgreSQL. */
export interface PostgresComponent {
  /** postgres://postgres@127.0.0.1:PORT/DATABASE */
  readonly url: string;
  readonly process: GroupProcess;
  health(): Promise<string>;
  stop(): Promise<void>;
  /** Starts it again on the same port and data (after stop). */
  restart(): Promise<void>;
}

export async function startPostgres(o: PostgresOptions): Promise<PostgresComponent> {
  const bin = o.bin ?? findPgBin();
  if (!bin) throw new Error("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/postgres)");
  const database = o.database ?? "switchboard";
  const asRoot = process.getuid?.() === 0;
  mkdirSync(o.dir, { recursive: true, mode: 0o700 });
  if (asRoot) {
    const id = (flag: string) => Number(execFileSync("id", [flag, "postgres"], { encoding: "utf8" }).trim());
    chownSync(o.dir, id("-u"), id("-g"));
    // Every parent directory must be searchable by `postgres` (a mktemp -d parent is 0700 root).
    if (spawnSync("runuser", ["-u", "postgres", "--", "test", "-x", o.dir]).status !== 0) {
      throw new Error(`the postgres user cannot reach ${o.dir}: a parent directory is not searchable by others (chmod o+x it, or choose another --data-dir)`);
    }
  }
  // As root, every PostgreSQL program runs as the `postgres` user.
  const cmd = (prog: string, args: string[]): [string, string[]] =>
    asRoot ? ["runuser", ["-u", "postgres", "--", path.join(bin, prog), ...args]] : [path.join(bin, prog), args];
  const data = path.join(o.dir, "data");
  const log = path.join(o.dir, "postgres.log");
  if (!existsSync(path.join(data, "PG_VERSION"))) {
    const [c, a] = cmd("initdb", ["-D", data, "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--no-locale"]);
    try {
      execFileSync(c, a, { stdio: "pipe", timeout: 120_000 });
    } catch (err) {
      throw new Error(`initdb failed: ${String((err as { stderr?: Buffer }).stderr ?? (err as Error).message)}`);
    }
  }
  const [c, a] = cmd("postgres", ["-D", data, "-p", String(o.port), "-c", "listen_addresses=127.0.0.1", "-c", `unix_socket_directories=${o.dir}`]);
  const launch = () => spawnGroup("postgres", c, a, { logFile: log });
  let proc = launch();
  const psql = (db: string, sql: string) =>
    execFileSync(path.join(bin, "psql"), ["-h", "127.0.0.1", "-p", String(o.port), "-U", "postgres", "-d", db, "-Atc", sql], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      timeout: 10_000,
    }).trim();
  const health = async () => {
    try {
      execFileSync(path.join(bin, "pg_isready"), ["-q", "-h", "127.0.0.1", "-p", String(o.port), "-U", "postgres"], { timeout: 5_000 });
      return "healthy";
    } catch {
      return "not accepting connections";
    }
  };
  const ready = () =>
    waitFor("postgres", async () => (await health()) === "healthy", { alive: () => proc.running(), diagnose: () => tail(log), timeoutMs: 30_000 }).catch(
      stopAndThrow(proc, "SIGINT"),
    );
  await ready();
  if (psql("postgres", `select 1 from pg_database where datname = '${database.replace(/'/g, "''")}'`) !== "1") {
    psql("postgres", `create database "${database.replace(/"/g, '""')}"`);
  }
  return {
    url: `postgres://postgres@127.0.0.1:${o.port}/${database}`,
    get process() {
      return proc;
    },
    health,
    // SIGINT = fast shutdown: the postmaster ends its (setsid) children, then itself.
    stop: () => proc.stop("SIGINT"),
    async restart() {
      proc = launch();
      await ready();
    },
  };
}
