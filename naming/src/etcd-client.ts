import { ConsecutiveBreaker, circuitBreaker, handleWhen, type IBackoff } from "cockatiel";
import { backoffFactory } from "@switchboard/common/backoff";
import { Etcd3, isRecoverableError } from "etcd3";

/** Options of `createEtcdClient()`. */
export interface EtcdClientOptions {
  /** Longest wait between reconnection attempts, in ms. Default 2000. */
  maxReconnectBackoffMs?: number;
  /** Timeout of each etcd call, in ms. Default 3000. */
  callTimeoutMs?: number;
}

/** "http://a:2379,http://b:2379" or an array → a clean list of endpoints. */
export function parseEtcdEndpoints(etcd: string | readonly string[]): string[] {
  const list = (typeof etcd === "string" ? etcd.split(",") : [...etcd]).map((s) => s.trim()).filter(Boolean);
  if (list.length === 0) throw new Error("etcd: name at least one endpoint, e.g. http://127.0.0.1:2379");
  for (const e of list) {
    let url: URL;
    try {
      url = new URL(e);
    } catch {
      throw new Error(`etcd: "${e}" is not a URL like http://127.0.0.1:2379`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new Error(`etcd: "${e}" must use http:// or https://`);
    }
  }
  return list;
}

/**
 * An etcd3 client tuned for discovery: the library's defaults back off for
 * up to 30 s (watch) or 2 min (gRPC reconnect) after etcd was unreachable,
 * which would leave registrations and watches stale long after etcd is back.
 * Here every back-off is capped at `maxReconnectBackoffMs`.
 */
export function createEtcdClient(etcd: string | readonly string[], options: EtcdClientOptions = {}): Etcd3 {
  const maxBackoff = options.maxReconnectBackoffMs ?? 2000;
  const callTimeout = options.callTimeoutMs ?? 3000;
  return new Etcd3({
    hosts: parseEtcdEndpoints(etcd),
    dialTimeout: callTimeout,
    grpcOptions: {
      "grpc.initial_reconnect_backoff_ms": 100,
      "grpc.max_reconnect_backoff_ms": maxBackoff,
      "grpc.min_reconnect_backoff_ms": 100,
    },
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + callTimeout }),
    faultHandling: {
      host: () =>
        circuitBreaker(handleWhen(isRecoverableError), {
          halfOpenAfter: Math.min(1000, maxBackoff),
          breaker: new ConsecutiveBreaker(3),
        }),
      // etcd3 only calls next() on it, i.e. uses it as the factory it is.
      watchBackoff: backoffFactory({ initialMs: 100, maxMs: maxBackoff }) as unknown as IBackoff<unknown>,
    },
  });
}
