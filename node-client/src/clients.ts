import type { DescService } from "@bufbuild/protobuf";
import { createClient, type Client, type Interceptor, type Transport } from "@connectrpc/connect";
import { ClusterService } from "@switchboard/gen/cluster/v1/cluster_pb.js";
import { Health } from "@switchboard/gen/grpc/health/v1/health_pb.js";
import { ServerReflection } from "@switchboard/gen/grpc/reflection/v1/reflection_pb.js";
import { LogService } from "@switchboard/gen/log/v1/log_pb.js";
import { NodeService } from "@switchboard/gen/node/v1/node_pb.js";
import { OrderService } from "@switchboard/gen/order/v1/order_pb.js";
import { bearerTokenInterceptor } from "@switchboard/common/bearer-token";
import { cancelOnBreak } from "./cancel-on-break.ts";
import { traceContextInterceptor, type TraceContextHeaders } from "./trace-context.ts";
import type { BalancedTransport } from "./discovery/balanced-transport.ts";
import { createTransport, type HttpVersion, type Protocol } from "./transport.ts";

/** Options of `createClients()`: where the server is, and how to talk to it. */
export interface ClientsOptions {
  /**
   * URL of one server, e.g. "http://localhost:8080". Exactly one of
   * `baseUrl` and `etcd` is required.
   */
  baseUrl?: string;
  /**
   * etcd endpoints ("http://127.0.0.1:2379" or a list): find the service
   * instances registered there and balance calls across them.
   */
  etcd?: string | string[];
  /** Key prefix of the registrations in etcd. Default: the discovery's default ("switchboard/services"). */
  etcdPrefix?: string;
  /**
   * With `etcd`: fail a call at once when etcd holds no instance of its
   * service (instead of waiting up to 5 s for one to register). Default
   * false; the CLI sets it.
   */
  failWhenNoneRegistered?: boolean;
  /** Wire protocol. Default "grpc". */
  protocol?: Protocol;
  /**
   * HTTP version for "connect" and "grpc-web". Default "2": needed for client
   * and bidi streaming (`updateOrders`, `processOrders`, `produceStream`).
   */
  httpVersion?: HttpVersion;
  /** Protobuf binary (default true) or JSON on the wire. */
  useBinaryFormat?: boolean;
  /** Sent as `Authorization: Bearer <token>` on every call (SubmitTask and CancelTask need it when the server has one). */
  token?: string;
  /**
   * Deadline in milliseconds for every call that does not pass its own
   * `timeoutMs` (pass `timeoutMs: 0` on a call to disable it, e.g. for an
   * open-ended tail). Default none.
   */
  timeoutMs?: number;
  /** Continue this W3C trace: sent as traceparent/tracestate on every call (see traceContextFromEnv). */
  traceContext?: TraceContextHeaders;
  /** Extra interceptors, applied after the bearer token one. */
  interceptors?: Interceptor[];
}

/** Typed clients for every Switchboard service, over one connection. */
export interface Clients {
  /** order.v1.OrderService */
  readonly orders: Client<typeof OrderService>;
  /** log.v1.LogService */
  readonly log: Client<typeof LogService>;
  /** node.v1.NodeService */
  readonly nodes: Client<typeof NodeService>;
  /** grpc.health.v1.Health */
  readonly health: Client<typeof Health>;
  /** cluster.v1.ClusterService (every instance hosts it) */
  readonly cluster: Client<typeof ClusterService>;
  /** grpc.reflection.v1.ServerReflection (bidi streaming: needs HTTP/2) */
  readonly reflection: Client<typeof ServerReflection>;
  /** Closes the connections; calls still running fail. */
  close(): Promise<void>;
}

/**
 * Creates typed clients from the generated service descriptors.
 *
 * ```ts
 * const sb = createClients({ baseUrl: "http://localhost:8080", protocol: "connect", timeoutMs: 5000 });
 * const { order } = await sb.orders.getOrder({ id: "102" });
 * await sb.close();
 * ```
 */
export function createClients(options: ClientsOptions): Clients {
  if ((options.baseUrl === undefined) === (options.etcd === undefined)) {
    throw new Error("createClients: pass exactly one of baseUrl and etcd");
  }
  const interceptors = [
    ...(options.token ? [bearerTokenInterceptor(options.token)] : []),
    ...(options.traceContext ? [traceContextInterceptor(options.traceContext)] : []),
    ...(options.interceptors ?? []),
  ];
  let transportFor: (service: DescService) => Transport;
  let close: () => Promise<void>;
  if (options.baseUrl !== undefined) {
    // One server: every service shares one transport (one connection).
    const transport = createTransport({
      baseUrl: options.baseUrl,
      protocol: options.protocol,
      httpVersion: options.httpVersion,
      useBinaryFormat: options.useBinaryFormat,
      timeoutMs: options.timeoutMs,
      interceptors,
    });
    transportFor = () => transport;
    close = () => transport.close();
  } else {
    // etcd discovery: one balanced transport per service over one etcd
    // client; health and reflection go to any registered instance. The
    // discovery code (etcd3, grpc-js, protobufjs) is loaded on first use only,
    // so that a CLI run with --server does not pay for it at start-up.
    const discovery = lazy(async () => {
      const [{ createBalancedTransport }, { createEtcdClient }] = await Promise.all([
        import("./discovery/balanced-transport.ts"),
        import("@switchboard/naming/etcd-client"),
      ]);
      return { createBalancedTransport, etcd: createEtcdClient(options.etcd as string | string[]) };
    });
    const balanced = new Map<string, Promise<BalancedTransport>>();
    transportFor = (service) => {
      const name = service === Health || service === ServerReflection || service === ClusterService ? "*" : service.typeName;
      let t = balanced.get(name);
      if (!t) {
        t = discovery.get().then(({ createBalancedTransport, etcd }) =>
          createBalancedTransport({
            etcd,
            service: name,
            prefix: options.etcdPrefix,
            protocol: options.protocol,
            httpVersion: (options.protocol ?? "grpc") === "grpc" ? "2" : (options.httpVersion ?? "2"),
            useBinaryFormat: options.useBinaryFormat,
            defaultTimeoutMs: options.timeoutMs,
            interceptors,
            failWhenNoneRegistered: options.failWhenNoneRegistered,
            etcdLabel: [options.etcd ?? []].flat().join(","),
          }),
        );
        balanced.set(name, t);
      }
      return deferredTransport(t);
    };
    close = async () => {
      if (!discovery.started) return;
      await Promise.all([...balanced.values()].map(async (t) => (await t).close()));
      (await discovery.get()).etcd.close();
    };
  }
  // Leaving a `for await` over a stream early cancels the call (see cancel-on-break.ts).
  const client = <T extends DescService>(service: T) => cancelOnBreak(service, createClient(service, transportFor(service)));
  return {
    orders: client(OrderService),
    log: client(LogService),
    nodes: client(NodeService),
    health: client(Health),
    cluster: client(ClusterService),
    reflection: client(ServerReflection),
    close,
  };
}

/** A value computed once, on first use. */
function lazy<T>(load: () => Promise<T>): { get(): Promise<T>; readonly started: boolean } {
  let value: Promise<T> | undefined;
  return {
    get: () => (value ??= load()),
    get started() {
      return value !== undefined;
    },
  };
}

/** A Transport whose calls wait for the real one (e.g. loaded on first use). */
function deferredTransport(transport: Promise<Transport>): Transport {
  return {
    async unary(...args) {
      return (await transport).unary(...args);
    },
    async stream(...args) {
      return (await transport).stream(...args);
    },
  };
}
