import pg from "pg";
import type { Logger } from "../logger.ts";
import { redactSecrets } from "./redact.ts";

/** Options of a NotifyListener. */
export interface NotifyListenerOptions {
  url: string;
  channels: string[];
  /** A notification arrived. */
  onNotify(channel: string, payload: string): void;
  /**
   * The listener (re)connected: notifications sent while it was away are
   * lost, so the owner should re-check everything it waits for.
   */
  onReconnect(): void;
  logger: Logger;
  /** Wait between reconnect attempts, ms. Default 500. */
  retryMs?: number;
}

/**
 * A dedicated connection (outside the pool) that LISTENs on some channels and
 * reconnects by itself when the connection is lost. NOTIFY is only a wake-up
 * signal: whoever listens reads the real state from tables.
 */
export class NotifyListener {
  readonly #opts: NotifyListenerOptions;
  #client: pg.Client | undefined;
  #closed = false;
  #retry: NodeJS.Timeout | undefined;

  constructor(opts: NotifyListenerOptions) {
    this.#opts = opts;
  }

  /** Connects once (throws if that fails); later losses reconnect in the background. */
  async start(): Promise<void> {
    await this.#connect();
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retry);
    const c = this.#client;
    this.#client = undefined;
    await c?.end().catch(() => {});
  }

  async #connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.#opts.url, connectionTimeoutMillis: 3000 });
    const lost = (err?: Error) => {
      if (this.#client !== client) return;
      this.#client = undefined;
      client.end().catch(() => {});
      if (this.#closed) return;
      this.#opts.logger.warn({ err: err ? redactSecrets(err.message) : "ended" }, "postgres: LISTEN connection lost; reconnecting");
      this.#schedule();
    };
    client.on("error", lost);
    client.on("end", () => lost());
    client.on("notification", (n) => this.#opts.onNotify(n.channel, n.payload ?? ""));
    try {
      await client.connect();
      for (const ch of this.#opts.channels) await client.query(`LISTEN ${pg.escapeIdentifier(ch)}`);
    } catch (err) {
      await client.end().catch(() => {});
      throw err;
    }
    if (this.#closed) {
      await client.end().catch(() => {});
      return;
    }
    this.#client = client;
  }

  #schedule(): void {
    clearTimeout(this.#retry);
    this.#retry = setTimeout(() => {
      this.#connect().then(
        () => {
          if (this.#closed) return;
          this.#opts.logger.info("postgres: LISTEN connection restored");
          this.#opts.onReconnect();
        },
        () => this.#schedule(),
      );
    }, this.#opts.retryMs ?? 500);
    this.#retry.unref();
  }
}
