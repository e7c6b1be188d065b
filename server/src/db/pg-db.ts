import pg from "pg";
import type { Logger } from "../logger.ts";
import { migrate } from "./migrate.ts";
import { isConnectionError, isUnavailable, toRpcError } from "./pg-errors.ts";
import { redactSecrets, redactUrl } from "./redact.ts";

/** Options of the PostgreSQL connection (`--postgres`, `--pg-*`). */
export interface PgOptions {
  /** postgres://user[:password]@host:port/db */
  url: string;
  /** Most connections in the pool. Default 10. */
  poolSize?: number;
  /** statement_timeout of every session, ms. Default 5000. */
  statementTimeoutMs?: number;
  /** How long to wait for a new connection, ms. Default 3000. */
  connectTimeoutMs?: number;
  /** Period of the health probe while the database is reachable, ms. Default 1000. */
  probeIntervalMs?: number;
}

/** Something to run a statement on: the pool (PgDb) or a transaction's client. */
export interface Queryable {
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<pg.QueryResult<R>>;
}

/**
 * The shared PostgreSQL pool of one server process: schema migration at open,
 * queries and transactions whose connection errors become UNAVAILABLE, and a
 * reachability flag (probed every second) that health follows.
 */
export class PgDb implements Queryable {
  readonly pool: pg.Pool;
  readonly url: string;
  readonly #log: Logger;
  readonly #probeMs: number;
  readonly #listeners = new Set<(up: boolean) => void>();
  #up = true;
  #probe: NodeJS.Timeout | undefined;
  #closed = false;

  private constructor(opts: PgOptions, logger: Logger) {
    this.url = opts.url;
    this.#log = logger;
    this.#probeMs = opts.probeIntervalMs ?? 1000;
    const statementTimeout = opts.statementTimeoutMs ?? 5000;
    this.pool = new pg.Pool({
      connectionString: opts.url,
      max: opts.poolSize ?? 10,
      connectionTimeoutMillis: opts.connectTimeoutMs ?? 3000,
      statement_timeout: statementTimeout,
      // Client-side bound too, for a server that stops answering mid-query.
      query_timeout: statementTimeout + 2000,
      idle_in_transaction_session_timeout: statementTimeout * 2,
      idleTimeoutMillis: 30_000,
    });
    // An idle client whose connection dies emits 'error' on the pool; without
    // a listener that would crash the process.
    this.pool.on("error", (err) => this.#failed(err));
    // pg-pool listens for a checked-out client's 'error' only once (and not at
    // all after a release with an error), but a dying connection can emit
    // several: a permanent listener on every client keeps such a late error
    // from ending the process.
    this.pool.on("connect", (client) => client.on("error", (err) => this.#failed(err)));
  }

  /** Connects, applies pending migrations and starts the health probe. */
  static async open(opts: PgOptions, logger: Logger): Promise<PgDb> {
    const db = new PgDb(opts, logger);
    try {
      const applied = await migrate(db.pool);
      logger.info({ postgres: redactUrl(opts.url), applied }, "postgres: connected, schema up to date");
    } catch (err) {
      await db.pool.end().catch(() => {});
      throw new Error(`postgres ${redactUrl(opts.url)}: ${redactSecrets((err as Error).message)}`);
    }
    db.#probe = setInterval(() => void db.#check(), db.#probeMs);
    db.#probe.unref();
    return db;
  }

  /** Whether the last query or probe reached the database. */
  get up(): boolean {
    return this.#up;
  }

  /** Calls `fn(up)` whenever reachability changes; returns an unsubscribe function. */
  onChange(fn: (up: boolean) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /** One statement; connection errors become UNAVAILABLE. */
  async query<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<pg.QueryResult<R>> {
    try {
      const r = await this.pool.query<R>(sql, params);
      this.#ok();
      return r;
    } catch (err) {
      throw this.#mapped(err);
    }
  }

  /**
   * Runs `fn` in a transaction (READ COMMITTED unless `isolation` says
   * otherwise): COMMIT when it returns, ROLLBACK when it throws.
   */
  async tx<T>(fn: (c: Queryable) => Promise<T>, isolation?: "REPEATABLE READ"): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw this.#mapped(err);
    }
    let broken: unknown;
    // A connection lost between two statements is reported as an 'error'
    // event on the checked-out client; unhandled, it would end the process.
    const onError = (err: Error) => {
      broken = err;
      this.#failed(err);
    };
    client.on("error", onError);
    try {
      await client.query(isolation ? `BEGIN ISOLATION LEVEL ${isolation}` : "BEGIN");
      const out = await fn(client);
      await client.query("COMMIT");
      this.#ok();
      return out;
    } catch (err) {
      if (isUnavailable(err)) broken = err;
      else await client.query("ROLLBACK").catch((e: unknown) => (broken = e));
      throw this.#mapped(err);
    } finally {
      client.off("error", onError);
      // A client whose connection failed is discarded, not reused.
      client.release(broken instanceof Error ? broken : broken !== undefined);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#probe);
    this.#listeners.clear();
    await this.pool.end();
  }

  #mapped(err: unknown): unknown {
    if (isUnavailable(err)) this.#failed(err);
    return toRpcError(err);
  }

  async #check(): Promise<void> {
    if (this.#closed) return;
    try {
      await this.pool.query("SELECT 1");
      this.#ok();
    } catch (err) {
      this.#failed(err);
    }
  }

  #ok(): void {
    if (this.#up) return;
    this.#up = true;
    this.#log.info("postgres: reachable again");
    for (const l of this.#listeners) l(true);
  }

  #failed(err: unknown): void {
    if (!this.#up || !isConnectionError(err)) return;
    this.#up = false;
    this.#log.warn({ err: redactSecrets((err as Error).message) }, "postgres: unreachable");
    for (const l of this.#listeners) l(false);
  }
}

