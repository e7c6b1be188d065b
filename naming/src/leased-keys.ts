import type { Etcd3, Lease } from "etcd3";
import { Backoff } from "@switchboard/common/backoff";

/** The subset of a pino logger these helpers use. */
export interface DiscoveryLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** Options of `LeasedKeys`. */
export interface LeasedKeysOptions {
  client: Etcd3;
  /** Key → value to keep registered. */
  entries: ReadonlyMap<string, string>;
  /** Lease time-to-live in seconds; keys vanish this long after the process dies. */
  ttlSeconds: number;
  logger?: DiscoveryLogger;
  /** Longest wait between registration attempts, in ms (back-off from 100 ms, see @switchboard/common/backoff). Default 2000. */
  maxBackoffMs?: number;
  /** Longest wait for etcd when removing the keys, in ms. Default 2000. */
  removeTimeoutMs?: number;
}

/**
 * Keeps a set of keys in etcd under one lease that the etcd3 client keeps
 * alive. When the lease is lost (etcd unreachable for longer than the TTL,
 * or the lease revoked) a new lease is granted and the keys are put again as
 * soon as etcd answers; while etcd is unreachable it retries with back-off
 * and never throws. `remove()` deletes the keys and revokes the lease.
 */
export class LeasedKeys {
  readonly #options: LeasedKeysOptions;
  #stopped = false;
  #wake: (() => void) | undefined;
  #lease: Lease | undefined;
  #leaseId: string | undefined;
  #loop: Promise<void> | undefined;
  #registrations = 0;
  readonly #waiters: Array<() => void> = [];

  constructor(options: LeasedKeysOptions) {
    this.#options = options;
  }

  /** The id of the current lease (hex), once granted. */
  get leaseId(): string | undefined {
    return this.#leaseId;
  }

  /** How many times the keys were (re-)registered. */
  get registrations(): number {
    return this.#registrations;
  }

  /** Starts registering in the background. Idempotent. */
  start(): this {
    this.#loop ??= this.#run();
    return this;
  }

  /** Resolves when the keys are registered (at once if they are). */
  whenRegistered(): Promise<void> {
    if (this.#leaseId !== undefined || this.#stopped) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  async #run(): Promise<void> {
    const { client, entries, ttlSeconds, logger } = this.#options;
    const retry = new Backoff({ initialMs: 100, maxMs: this.#options.maxBackoffMs ?? 2000 });
    let failures = 0;
    while (!this.#stopped) {
      const lease = client.lease(ttlSeconds);
      this.#lease = lease;
      const lost = new Promise<Error>((resolve) => lease.once("lost", resolve));
      try {
        const id = await lease.grant();
        for (const [key, value] of entries) await lease.put(key).value(value).exec();
        if (this.#stopped) break;
        this.#leaseId = BigInt(id).toString(16);
        this.#registrations++;
        logger?.info(
          { leaseId: this.#leaseId, ttlSeconds, keys: [...entries.keys()], attempt: failures + 1 },
          this.#registrations === 1 ? "registered in etcd" : "re-registered in etcd with a new lease",
        );
        for (const w of this.#waiters.splice(0)) w();
        retry.reset();
        failures = 0;
        const err = await Promise.race([lost, new Promise<undefined>((r) => (this.#wake = () => r(undefined)))]);
        if (this.#stopped || err === undefined) break;
        this.#leaseId = undefined;
        logger?.warn({ err: err.message }, "etcd lease lost: registering again");
      } catch (err) {
        if (this.#stopped) break;
        this.#leaseId = undefined;
        lease.release();
        const backoff = retry.next();
        if (failures++ % 10 === 0) {
          logger?.warn({ err: (err as Error).message, retryInMs: backoff }, "etcd unreachable: will retry registration");
        }
        await new Promise<void>((r) => {
          const t = setTimeout(r, backoff);
          this.#wake = () => {
            clearTimeout(t);
            r();
          };
        });
      }
    }
  }

  /**
   * Stops keeping the keys: deletes them and revokes the lease (bounded by
   * `removeTimeoutMs`; if etcd is unreachable the keys expire with the TTL).
   */
  async remove(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#wake?.();
    for (const w of this.#waiters.splice(0)) w();
    await this.#loop;
    const lease = this.#lease;
    const { client, entries } = this.#options;
    const timeoutMs = this.#options.removeTimeoutMs ?? 2000;
    const work = (async () => {
      for (const key of entries.keys()) await client.delete().key(key).exec();
      await lease?.revoke();
    })();
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        work,
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`etcd did not answer within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
      this.#options.logger?.info({ keys: [...entries.keys()] }, "deregistered from etcd");
    } catch (err) {
      work.catch(() => undefined);
      lease?.release();
      this.#options.logger?.warn({ err: (err as Error).message }, "could not deregister from etcd; keys expire with the lease");
    } finally {
      clearTimeout(timer);
    }
    this.#leaseId = undefined;
  }
}
