import type { DescMessage, DescMethodStreaming, DescMethodUnary, MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError, type ContextValues, type Interceptor, type StreamResponse, type Transport, type UnaryResponse } from "@connectrpc/connect";
import type { Etcd3 } from "etcd3";
import { backoffDelay } from "@switchboard/common/backoff";
import { createTransport, type ClosableTransport, type Protocol } from "../transport.ts";
import { RoundRobinPicker } from "./picker.ts";
import { createEtcdResolver, type Resolver } from "@switchboard/naming/resolver";
import { isConnectionFailure, isRetryable } from "./retry-policy.ts";
import { defaultServicePrefix, normalizePrefix, serviceKeyPrefix } from "@switchboard/naming/endpoint-record";

type HeadersInit_ = ConstructorParameters<typeof Headers>[0];

/** Wire protocol of the per-endpoint transports. */
export type BalancedProtocol = Protocol;

/** Options of `createBalancedTransport()`. */
export interface BalancedTransportOptions {
  /** etcd endpoints (comma-separated string or array) or a shared client; or give `resolver`. */
  etcd?: string | readonly string[] | Etcd3;
  /** Where endpoints come from instead of etcd (e.g. `staticResolver`). */
  resolver?: Resolver;
  /** Fully qualified service name, e.g. "order.v1.OrderService". */
  service: string;
  /** Registry prefix. Default "switchboard/services". */
  prefix?: string;
  /** Default "grpc". */
  protocol?: BalancedProtocol;
  /** HTTP version of the endpoint connections. Default "2" (h2c). */
  httpVersion?: "1.1" | "2";
  /** Binary (default) or JSON messages. */
  useBinaryFormat?: boolean;
  /** "http" (default) or "https". */
  scheme?: "http" | "https";
  /** Interceptors of every endpoint transport; `req.url` names the endpoint. */
  interceptors?: Interceptor[];
  /** Timeout of calls that name none, in ms. Default none. */
  defaultTimeoutMs?: number;
  /** Attempts per call, the first included (bounded retry budget). Default 4. */
  maxAttempts?: number;
  /** First pause before another round once every endpoint was tried, in ms (doubling up to 16×, half jitter; see @switchboard/common/backoff). Default 50. */
  retryBackoffMs?: number;
  /** First ejection period of a failing endpoint, in ms (doubles up to ejectMaxMs). Default 1000. */
  ejectBaseMs?: number;
  /** Longest ejection period, in ms. Default 30000. */
  ejectMaxMs?: number;
  /**
   * Where the round-robin of a new endpoint set starts: index
   * floor(random() × endpoints), as grpc-go's round_robin does, so short-lived
   * clients spread their first calls. Default Math.random.
   */
  random?: () => number;
  /** How long a call waits for the first endpoint to appear, in ms. Default 5000. */
  waitForEndpointsMs?: number;
  /**
   * When etcd has been read and holds no endpoint of the service, fail calls
   * at once (UNAVAILABLE naming the key prefix and etcd) instead of waiting
   * `waitForEndpointsMs` for one to appear. For one-shot callers such as the
   * CLI; long-running clients keep the default (false) and ride out a moment
   * without instances. Still waits (bounded) for etcd's first answer.
   */
  failWhenNoneRegistered?: boolean;
  /** How errors name etcd, e.g. "http://127.0.0.1:2379". Default: `etcd` when given as URLs. */
  etcdLabel?: string;
  /** HTTP/2 connections idle this long are closed, in ms. Default 15000. */
  idleConnectionTimeoutMs?: number;
  /**
   * HTTP/2 keepalive: PING every endpoint connection this often while calls
   * are open (and before reusing one idle this long). An endpoint that does
   * not answer within `pingTimeoutMs` — stopped without closing its sockets —
   * has its connection closed, its calls fail with UNAVAILABLE (idempotent
   * ones are retried on another endpoint) and it is ejected. Default 2000; 0 = off.
   */
  pingIntervalMs?: number;
  /** How long a keepalive PING may go unanswered, in ms. Default 3000. */
  pingTimeoutMs?: number;
  /** Called after the endpoint set changed. */
  onEndpoints?: (addresses: readonly string[]) => void;
}

/** A Connect `Transport` that spreads calls over a service's registered endpoints. */
export interface BalancedTransport extends Transport {
  /** The endpoints as currently known ("host:port"). */
  endpoints(): readonly string[];
  /** Resolves once the endpoint set has been read at least once (UNAVAILABLE after `timeoutMs`, if given). */
  ready(timeoutMs?: number): Promise<void>;
  /** Stops watching and closes every connection. */
  close(): Promise<void>;
}

/**
 * Client-side load balancing: a Connect Transport that delegates each call
 * to a per-endpoint transport from @connectrpc/connect-node, chosen round-
 * robin among the endpoints the resolver knows. Endpoints whose connection
 * fails are ejected with back-off; calls that failed before processing, and
 * failed calls of NO_SIDE_EFFECTS / IDEMPOTENT methods, are retried on
 * another endpoint within `maxAttempts` and the call's deadline. Streams pick
 * their endpoint when they start (server-streaming calls may be retried
 * until the response begins).
 */
export function createBalancedTransport(options: BalancedTransportOptions): BalancedTransport {
  const protocol = options.protocol ?? "grpc";
  const httpVersion = options.httpVersion ?? "2";
  const maxAttempts = Math.max(1, options.maxAttempts ?? 4);
  const retryBackoffMs = options.retryBackoffMs ?? 50;
  const waitForEndpointsMs = options.waitForEndpointsMs ?? 5000;
  if (protocol === "grpc" && httpVersion !== "2") throw new Error("createBalancedTransport: gRPC needs HTTP/2");
  let resolver: Resolver;
  /** Why etcd could not be read lately, for "no endpoints" errors. */
  let resolveError: string | undefined;
  if (options.resolver) {
    resolver = options.resolver;
  } else if (options.etcd !== undefined) {
    resolver = createEtcdResolver({
      etcd: options.etcd,
      service: options.service,
      prefix: options.prefix,
      onError: (err) => (resolveError = err.message),
    });
  } else {
    throw new Error("createBalancedTransport: give `etcd` or `resolver`");
  }
  const picker = new RoundRobinPicker({ ejectBaseMs: options.ejectBaseMs, ejectMaxMs: options.ejectMaxMs, random: options.random });
  const conns = new Map<string, ClosableTransport>();
  /** Connections of endpoints that left; closed when idle or on close(). */
  const retired = new Set<ClosableTransport>();
  const waiters = new Set<() => void>();
  let closed = false;

  const update = () => {
    resolveError = undefined;
    const addresses = resolver.endpoints().map((e) => e.address);
    picker.setAddresses(addresses);
    for (const [address, conn] of conns) {
      if (!addresses.includes(address)) {
        // In-flight calls on a deregistered endpoint must finish, so its
        // connection is not aborted here; the idle timeout closes it.
        conns.delete(address);
        retired.add(conn);
      }
    }
    if (addresses.length > 0) for (const w of [...waiters]) w();
    options.onEndpoints?.(picker.addresses);
  };
  const unsubscribe = resolver.subscribe(update);
  update();

  const connFor = (address: string): ClosableTransport => {
    let conn = conns.get(address);
    if (!conn) {
      conn = createTransport({
        baseUrl: `${options.scheme ?? "http"}://${address}`,
        protocol,
        httpVersion,
        useBinaryFormat: options.useBinaryFormat ?? true,
        interceptors: options.interceptors,
        idleConnectionTimeoutMs: options.idleConnectionTimeoutMs ?? 15_000,
        ...(httpVersion === "2" && (options.pingIntervalMs ?? 2000) > 0
          ? { pingIntervalMs: options.pingIntervalMs ?? 2000, pingTimeoutMs: options.pingTimeoutMs ?? 3000 }
          : {}),
      });
      conns.set(address, conn);
    }
    return conn;
  };

  const etcdLabel =
    options.etcdLabel ??
    (typeof options.etcd === "string" || Array.isArray(options.etcd) ? [options.etcd].flat().join(",") : "etcd");
  const noneRegistered = () => {
    const prefix = options.prefix ?? defaultServicePrefix;
    const keys = options.service === "*" ? `${normalizePrefix(prefix)}/` : serviceKeyPrefix(prefix, options.service);
    const what = options.service === "*" ? "no instance is registered" : `no instance of ${options.service} is registered`;
    return new ConnectError(
      `${what} in etcd under the prefix ${keys} (etcd ${etcdLabel}); start a server with --etcd ${etcdLabel}, ` +
        `or check --etcd / --etcd-prefix`,
      Code.Unavailable,
    );
  };

  /** Waits until some endpoint is known, the deadline passes or the call is aborted. */
  const waitForEndpoints = (signal: AbortSignal | undefined, remainingMs: number | undefined) =>
    new Promise<void>((resolve) => {
      const limit = Math.min(waitForEndpointsMs, remainingMs ?? Infinity);
      const done = () => {
        clearTimeout(timer);
        waiters.delete(done);
        signal?.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, limit);
      waiters.add(done);
      signal?.addEventListener("abort", done);
    });

  /**
   * Runs `attempt` on picked endpoints until it succeeds, fails for good,
   * the budget is spent or the deadline passes.
   */
  async function withRetries<R>(
    method: DescMethodUnary | DescMethodStreaming,
    signal: AbortSignal | undefined,
    timeoutMs: number | undefined,
    canRetry: () => boolean,
    attempt: (transport: Transport, remainingMs: number | undefined) => Promise<R>,
  ): Promise<R> {
    if (closed) throw new ConnectError("balanced transport is closed", Code.Unavailable);
    const timeout = timeoutMs ?? options.defaultTimeoutMs;
    const deadline = timeout !== undefined && timeout > 0 ? Date.now() + timeout : undefined;
    const remaining = () => (deadline === undefined ? undefined : deadline - Date.now());
    const tried = new Set<string>();
    let lastError: ConnectError | undefined;
    for (let n = 1; ; n++) {
      if (signal?.aborted) throw ConnectError.from(signal.reason, Code.Canceled);
      let left = remaining();
      if (left !== undefined && left <= 0) {
        throw new ConnectError(
          `deadline exceeded${lastError ? ` (last error: ${lastError.rawMessage})` : ""}`,
          Code.DeadlineExceeded,
        );
      }
      let address = picker.pick(tried);
      if (address === undefined && tried.size === 0 && options.failWhenNoneRegistered) {
        const listed = await resolver.ready(Math.min(waitForEndpointsMs, left ?? Infinity)).then(
          () => true,
          () => false,
        );
        address = picker.pick(tried);
        left = remaining();
        if (address === undefined && listed && resolveError === undefined) throw noneRegistered();
      }
      if (address === undefined && tried.size === 0) {
        await waitForEndpoints(signal, left);
        address = picker.pick(tried);
        left = remaining();
      }
      if (address === undefined) {
        throw (
          lastError ??
          new ConnectError(
            `no endpoints registered for ${options.service}${resolveError ? ` (etcd: ${resolveError})` : ""}`,
            Code.Unavailable,
          )
        );
      }
      tried.add(address);
      try {
        const res = await attempt(connFor(address), left);
        picker.reportSuccess(address);
        return res;
      } catch (e) {
        const err = ConnectError.from(e);
        if (isConnectionFailure(err)) picker.reportFailure(address);
        if (n >= maxAttempts || signal?.aborted || !canRetry() || !isRetryable(err, method)) throw err;
        lastError = err;
        if (tried.size >= picker.addresses.length) {
          // Every endpoint failed this round: start over after a pause.
          tried.clear();
          await new Promise((r) => setTimeout(r, Math.min(backoffDelay(n - 1, { initialMs: retryBackoffMs, maxMs: 16 * retryBackoffMs }), remaining() ?? Infinity)));
        }
      }
    }
  }

  return {
    async unary<I extends DescMessage, O extends DescMessage>(
      method: DescMethodUnary<I, O>,
      signal: AbortSignal | undefined,
      timeoutMs: number | undefined,
      header: HeadersInit_ | undefined,
      input: MessageInitShape<I>,
      contextValues?: ContextValues,
    ): Promise<UnaryResponse<I, O>> {
      return withRetries(method, signal, timeoutMs, () => true, (transport, left) =>
        transport.unary(method, signal, left, header, input, contextValues),
      );
    },

    async stream<I extends DescMessage, O extends DescMessage>(
      method: DescMethodStreaming<I, O>,
      signal: AbortSignal | undefined,
      timeoutMs: number | undefined,
      header: HeadersInit_ | undefined,
      input: AsyncIterable<MessageInitShape<I>>,
      contextValues?: ContextValues,
    ): Promise<StreamResponse<I, O>> {
      if (method.methodKind === "server_streaming") {
        // The single request is kept, so the call can be sent again until
        // its response begins.
        const messages: MessageInitShape<I>[] = [];
        for await (const m of input) messages.push(m);
        const replay = { async *[Symbol.asyncIterator]() { yield* messages; } };
        return withRetries(method, signal, timeoutMs, () => true, (transport, left) =>
          transport.stream(method, signal, left, header, replay, contextValues),
        );
      }
      // Client and bidi streams: may only be sent again while none of the
      // caller's messages has been taken from `input`.
      let pulled = false;
      const tracked: AsyncIterable<MessageInitShape<I>> = {
        async *[Symbol.asyncIterator]() {
          pulled = true;
          yield* input;
        },
      };
      return withRetries(method, signal, timeoutMs, () => !pulled, (transport, left) =>
        transport.stream(method, signal, left, header, tracked, contextValues),
      );
    },

    endpoints: () => picker.addresses,
    ready: (timeoutMs) => resolver.ready(timeoutMs),
    async close() {
      if (closed) return;
      closed = true;
      unsubscribe();
      for (const w of [...waiters]) w();
      if (!options.resolver) await resolver.close();
      await Promise.all([...conns.values(), ...retired].map((c) => c.close()));
      conns.clear();
      retired.clear();
    },
  };
}
