/**
 * The commit log in a NATS JetStream stream (`--nats`): every instance on the
 * same NATS serves the same records at the same offsets; NATS replicates the
 * stream across its cluster (Raft). offset = stream sequence − 1.
 *
 * - append: publish with a message id (`Nats-Msg-Id`, deduplicated within the
 *   stream's duplicate window) and retry until the call's deadline while the
 *   stream has no leader (503 "no responders", reported by the client as
 *   "jetstream is not enabled") or an ack times out; a retry whose first ack
 *   was lost is stored once.
 * - read: through the stream leader (STREAM.MSG.GET), so a record just
 *   acknowledged to any instance is found (direct get may answer from a
 *   replica that has not applied it yet).
 * - stream: an ephemeral, in-memory, ack-none pull consumer from the offset,
 *   fetched in bounded batches (the next batch is pulled only when the RPC has
 *   sent the last one: flow control; each pull bounded, see bounded-pull.ts),
 *   recreated from the next offset to send after any error (gap-free,
 *   duplicate-free) — a live stream until its RPC ends, a stop-at-end one
 *   until retryMs without progress — and deleted when the stream ends.
 */
import {
  AckPolicy,
  DeliverPolicy,
  jetstream,
  jetstreamManager,
  type JetStreamClient,
  type JetStreamManager,
  type StreamConfig,
} from "@nats-io/jetstream";
import { connect, nanos, nuid, type NatsConnection } from "@nats-io/transport-node";
import { LogUnavailableError, type CommitLog, type LogOffsets, type LogRecord, type StreamOptions } from "../commit-log.ts";
import { OffsetOutOfRangeError, RecordTooLargeError } from "../log-errors.ts";
import { sleep, untilAborted } from "./abortable.ts";
import { boundedPull } from "./bounded-pull.ts";
import { authenticator, clusterSize, ensureStream, streamConfig, type NatsAuth } from "./jetstream-setup.ts";

export type { NatsAuth } from "./jetstream-setup.ts";

/** Options of `openJetStreamLog()`. */
export interface JetStreamLogOptions {
  /** NATS server URLs, e.g. ["nats://127.0.0.1:4222"]. */
  servers: string[];
  auth?: NatsAuth;
  /** Stream name. Default "switchboard-log". */
  stream?: string;
  /** Stream replicas; default 3 when the NATS cluster has ≥ 3 servers, else 1. */
  replicas?: number;
  /** Largest record value; the effective limit is also below NATS's max payload. Default 1 MiB. */
  maxRecordBytes?: number;
  /** Stream max_bytes: oldest records are removed beyond it. 0 = unlimited (default). */
  retentionBytes?: number;
  /** Stream max_age in ms: older records are removed. 0 = unlimited (default). */
  retentionAgeMs?: number;
  /** How long an append/read retries when the call has no deadline of its own. Default 15 s. */
  retryMs?: number;
  /** Timeout of one JetStream API request or publish ack. Default 2 s. */
  requestTimeoutMs?: number;
  /** How long a lost connection may take to come back before calls fail fast. Default 1 s. */
  reconnectGraceMs?: number;
  /** Records one ConsumeStream fetches per pull. Default 256. */
  streamBatch?: number;
}

/** One follower of the stream, as the stream leader sees it. */
export interface StreamReplica {
  name: string;
  /** Up to date with the leader. */
  current: boolean;
  /** Considered offline by the stream's Raft group. */
  offline: boolean;
  /** Operations it is behind the leader. */
  lag: number;
}

/** The stream's Raft state (JetStream stream info `cluster`). */
export interface StreamStatus {
  stream: string;
  /** Configured replicas. */
  replicas: number;
  /** Server name of the stream leader; "" while it has none. */
  leader: string;
  /** The followers (the leader is not listed). */
  followers: StreamReplica[];
}

/** Room left in NATS's max_payload for the message id header and framing. */
const headerAllowance = 512;
const retryDelayMs = 50;
/** ConsumeStream pulls: server-side expiry, idle heartbeat, most time between consumer recreations. */
const pullExpiresMs = 3000;
const pullHeartbeatMs = 1000;
const maxStreamRetryDelayMs = 2000;

/** Connects, creates the stream when missing (or checks an existing one's settings) and serves it. */
export async function openJetStreamLog(options: JetStreamLogOptions): Promise<JetStreamLog> {
  const requestTimeoutMs = options.requestTimeoutMs ?? 2000;
  const nc = await connect({
    servers: options.servers,
    name: "switchboard-log",
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    timeout: 5000,
    ...(options.auth ? { authenticator: authenticator(options.auth) } : {}),
  });
  try {
    const jsm = await jetstreamManager(nc, { timeout: Math.max(requestTimeoutMs, 5000) });
    const js = jetstream(nc, { timeout: requestTimeoutMs });
    const name = options.stream ?? "switchboard-log";
    const replicas = options.replicas ?? ((await clusterSize(nc, options.servers)) >= 3 ? 3 : 1);
    const wanted = streamConfig(name, replicas, options.retentionBytes ?? 0, options.retentionAgeMs ?? 0);
    await ensureStream(jsm, wanted);
    return new JetStreamLog(nc, js, jsm, wanted, options);
  } catch (err) {
    await nc.close().catch(() => {});
    throw err;
  }
}

export class JetStreamLog implements CommitLog {
  readonly maxRecordBytes: number;
  readonly streamName: string;
  readonly subject: string;
  readonly replicas: number;
  readonly #nc: NatsConnection;
  readonly #js: JetStreamClient;
  readonly #jsm: JetStreamManager;
  readonly #retryMs: number;
  readonly #requestTimeoutMs: number;
  readonly #graceMs: number;
  readonly #batch: number;
  readonly #idPrefix = nuid.next();
  #idSeq = 0;
  #connected = true;
  #disconnectedAt = 0;
  #closed = false;
  #listeners = new Set<(available: boolean) => void>();
  #reconnectWaiters = new Set<() => void>();

  constructor(nc: NatsConnection, js: JetStreamClient, jsm: JetStreamManager, config: Partial<StreamConfig> & { name: string }, options: JetStreamLogOptions) {
    this.#nc = nc;
    this.#js = js;
    this.#jsm = jsm;
    this.streamName = config.name;
    this.subject = config.subjects![0]!;
    this.replicas = config.num_replicas!;
    this.#retryMs = options.retryMs ?? 15_000;
    this.#requestTimeoutMs = options.requestTimeoutMs ?? 2000;
    this.#graceMs = options.reconnectGraceMs ?? 1000;
    this.#batch = options.streamBatch ?? 256;
    const maxPayload = nc.info?.max_payload ?? 1024 * 1024;
    this.maxRecordBytes = Math.min(options.maxRecordBytes ?? 1024 * 1024, maxPayload - headerAllowance);
    void this.#watchStatus();
  }

  async #watchStatus(): Promise<void> {
    for await (const s of this.#nc.status()) {
      if (s.type === "disconnect" && this.#connected) this.#setConnected(false);
      else if (s.type === "reconnect") this.#setConnected(true);
    }
  }

  #setConnected(connected: boolean): void {
    this.#connected = connected;
    if (!connected) this.#disconnectedAt = Date.now();
    else for (const w of this.#reconnectWaiters) w();
    for (const l of this.#listeners) l(connected);
  }

  onAvailability(listener: (available: boolean) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Resolves when connected; while NATS is unreachable for longer than the grace, fails fast. */
  async #ready(signal?: AbortSignal): Promise<void> {
    if (this.#closed) throw new LogUnavailableError("the commit log is closed");
    if (this.#connected) return;
    const left = this.#disconnectedAt + this.#graceMs - Date.now();
    if (left > 0) {
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.#reconnectWaiters.delete(done);
          signal?.removeEventListener("abort", done);
          resolve();
        };
        const timer = setTimeout(done, left);
        this.#reconnectWaiters.add(done);
        signal?.addEventListener("abort", done, { once: true });
      });
      if (this.#connected) return;
    }
    throw new LogUnavailableError("the commit log is unavailable: no connection to NATS");
  }

  /**
   * Runs `fn` until it succeeds, retrying transient errors (no stream leader,
   * timeouts) until `signal` aborts or `retryMs` passed; then UNAVAILABLE.
   */
  async #retry<T>(what: string, signal: AbortSignal | undefined, fn: () => Promise<T>): Promise<T> {
    const until = Date.now() + this.#retryMs;
    let last: unknown;
    for (;;) {
      await this.#ready(signal);
      try {
        return await untilAborted(fn(), signal);
      } catch (err) {
        if (err instanceof OffsetOutOfRangeError) throw err;
        if (!signal?.aborted || last === undefined) last = err;
        // At the call's deadline (or cancellation) the answer is UNAVAILABLE: the record may or may not be stored.
        if (signal?.aborted || Date.now() + retryDelayMs >= until || this.#closed) {
          throw new LogUnavailableError(
            `${what} failed: the NATS JetStream stream "${this.streamName}" did not answer in time (last error: ${(last as Error).message})`,
            { cause: last },
          );
        }
        await sleep(retryDelayMs, signal).catch(() => {});
      }
    }
  }

  /**
   * The stream's leader and followers (one stream info request, answered by
   * the leader); throws when NATS or the stream leader does not answer within
   * `timeoutMs` (default: the request timeout).
   */
  async status(timeoutMs = this.#requestTimeoutMs): Promise<StreamStatus> {
    if (this.#closed) throw new LogUnavailableError("the commit log is closed");
    if (!this.#connected) throw new LogUnavailableError("no connection to NATS");
    const info = await untilAborted(this.#jsm.streams.info(this.streamName), AbortSignal.timeout(timeoutMs));
    const c = info.cluster;
    // A single NATS server (not clustered) names no leader: it serves the stream itself.
    const standalone = !c?.leader && this.#nc.info?.cluster === undefined;
    return {
      stream: this.streamName,
      replicas: info.config.num_replicas,
      leader: standalone ? (this.#nc.info?.server_name ?? "") : (c?.leader ?? ""),
      followers: (c?.replicas ?? []).map((r) => ({ name: r.name, current: r.current, offline: r.offline ?? false, lag: r.lag ?? 0 })),
    };
  }

  append(value: Uint8Array, signal?: AbortSignal): Promise<number> {
    if (value.length > this.maxRecordBytes) return Promise.reject(new RecordTooLargeError(value.length, this.maxRecordBytes));
    const msgID = `${this.#idPrefix}-${++this.#idSeq}`;
    return this.#retry("produce", signal, async () => {
      const ack = await this.#js.publish(this.subject, value, { msgID, timeout: this.#requestTimeoutMs });
      return ack.seq - 1;
    });
  }

  async offsets(signal?: AbortSignal): Promise<LogOffsets> {
    return this.#retry("reading the log's offsets", signal, async () => {
      const { state } = await this.#jsm.streams.info(this.streamName);
      const next = state.last_seq;
      return { lowest: state.messages === 0 ? next : state.first_seq - 1, next };
    });
  }

  async read(offset: number, signal?: AbortSignal): Promise<Uint8Array> {
    if (!Number.isSafeInteger(offset) || offset < 0) {
      const { lowest, next } = await this.offsets(signal);
      throw new OffsetOutOfRangeError(offset, lowest, next);
    }
    const msg = await this.#retry("consume", signal, async () => {
      try {
        return await this.#jsm.streams.getMessage(this.streamName, { seq: offset + 1 });
      } catch (err) {
        if (/no message found/i.test(String((err as Error).message))) return null;
        throw err;
      }
    });
    if (msg === null) {
      const { lowest, next } = await this.offsets(signal);
      throw new OffsetOutOfRangeError(offset, lowest, next);
    }
    return msg.data;
  }

  async *stream(offset: number, { stopAtEnd, signal }: StreamOptions): AsyncGenerator<LogRecord> {
    const { lowest, next } = await this.offsets(signal);
    if (!Number.isSafeInteger(offset) || offset < lowest || offset > next) throw new OffsetOutOfRangeError(offset, lowest, next);
    const end = stopAtEnd ? next : Number.POSITIVE_INFINITY;
    let expected = offset; // the next offset to send: every (re)created consumer starts here
    let failingSince = 0;
    let failures = 0;
    while (expected < end) {
      signal.throwIfAborted();
      let name: string | undefined;
      try {
        await this.#ready(signal);
        const info = await this.#jsm.consumers.add(this.streamName, {
          ack_policy: AckPolicy.None,
          deliver_policy: DeliverPolicy.StartSequence,
          opt_start_seq: expected + 1,
          mem_storage: true,
          num_replicas: 1,
          inactive_threshold: nanos(30_000),
        });
        name = info.name;
        const consumer = await this.#js.consumers.get(this.streamName, name);
        for (;;) {
          const before = expected;
          const pull = boundedPull(consumer, { max: Math.min(this.#batch, end - expected), expiresMs: pullExpiresMs, heartbeatMs: pullHeartbeatMs, signal });
          for await (const m of pull) {
            const got = m.seq - 1;
            if (got < expected) continue; // already sent
            if (got > expected) {
              // Records below `got` are gone (retention) or the consumer skipped: check which.
              const now = await this.offsets(signal);
              if (expected < now.lowest) throw new OffsetOutOfRangeError(expected, now.lowest, now.next);
              throw new Error(`consumer skipped from offset ${expected} to ${got}`);
            }
            yield { offset: got, value: m.data };
            expected++;
            failingSince = 0;
            failures = 0;
          }
          signal.throwIfAborted();
          if (expected >= end) return;
          if (expected === before) {
            // An empty pull: nothing new, or the consumer is stuck (its server died or it lags):
            // records the stream has but the consumer did not send mean the latter.
            const now = await this.offsets(signal);
            if (now.next > expected) throw new Error(`consumer ${name} sent nothing while offset ${expected} exists`);
          }
          failingSince = 0; // a pull that ended normally is progress too
          failures = 0;
        }
      } catch (err) {
        if (err instanceof OffsetOutOfRangeError) throw err;
        signal.throwIfAborted();
        if (stopAtEnd && err instanceof LogUnavailableError) throw err; // NATS unreachable: fail fast, like a call
        failingSince ||= Date.now();
        // A live tail waits through elections and reconnects until the RPC ends (its signal) or the
        // server closes the log; a stop-at-end read gives up after retryMs without progress, like a call.
        if (this.#closed || (stopAtEnd && Date.now() - failingSince > this.#retryMs)) {
          throw new LogUnavailableError(`ConsumeStream failed: the NATS JetStream stream "${this.streamName}" did not answer (${(err as Error).message})`, {
            cause: err,
          });
        }
        await sleep(Math.min(retryDelayMs * 4 * 2 ** failures++, maxStreamRetryDelayMs), signal);
      } finally {
        if (name !== undefined) await this.#deleteConsumer(name);
      }
    }
  }

  /** Deletes an ephemeral consumer, waiting at most one request timeout (inactive_threshold removes it otherwise). */
  async #deleteConsumer(name: string): Promise<void> {
    if (!this.#connected) return;
    await Promise.race([this.#jsm.consumers.delete(this.streamName, name).catch(() => false), sleep(this.#requestTimeoutMs).catch(() => {})]);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const w of this.#reconnectWaiters) w();
    await this.#nc.close();
  }
}
