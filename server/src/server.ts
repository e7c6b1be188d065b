import { createRegistry, type DescService } from "@bufbuild/protobuf";
import { existsSync, readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { ConnectRouter } from "@connectrpc/connect";
import { compressionBrotli, compressionGzip, connectNodeAdapter } from "@connectrpc/connect-node";
import { file_grpc_health_v1_health, Health } from "@switchboard/gen/grpc/health/v1/health_pb.js";
import * as reflectionV1 from "@switchboard/gen/grpc/reflection/v1/reflection_pb.js";
import * as reflectionV1alpha from "@switchboard/gen/grpc/reflection/v1alpha/reflection_pb.js";
import { defaultServerOptions, type ServerOptions } from "./config.ts";
import { shuttingDown } from "./errors.ts";
import { HealthStatus, ServingStatus } from "./health/health-status.ts";
import { registerHealth } from "./health/health-service.ts";
import { file_cluster_v1_cluster, ClusterService } from "@switchboard/gen/cluster/v1/cluster_pb.js";
import { registerClusterService } from "./cluster/cluster-service.ts";
import { setupCluster } from "./registry/cluster-setup.ts";
import { createFastPath, recordRoutes } from "./fastpath/index.ts";
import { createCors } from "./http/cors.ts";
import { createConnectRequestGate } from "./http/connect-request-gate.ts";
import { listen, type Listener, type RequestHandler } from "./http/listener.ts";
import { createStaticFiles } from "./http/static-files.ts";
import { answerUnaryToStream, streamingPaths } from "./http/stream-content-type.ts";
import { enforceDeadline } from "./http/deadline-guard.ts";
import { closeWhenAnswered } from "./http/close-answered.ts";
import { requestLogInterceptor } from "./interceptors/request-log.ts";
import { abortRequestStreamInterceptor } from "./interceptors/abort-request-stream.ts";
import { metricsInterceptor } from "./interceptors/metrics.ts";
import { traceInterceptor } from "./interceptors/trace.ts";
import { createMetrics, type Metrics } from "./metrics/metrics.ts";
import { clusterMetrics } from "./metrics/cluster-metrics.ts";
import { isMetricsRequest, metricsEndpoint } from "./metrics/endpoint.ts";
import { countUnknownProcedures } from "./metrics/unknown-procedures.ts";
import { tracerFromEnv, type RpcTracer } from "./trace/rpc-tracer.ts";
import { createLogger, type Logger } from "./logger.ts";
import { registerReflection } from "./reflection/reflection-service.ts";
import { createRestGateway } from "./rest/rest-gateway.ts";
import { file_google_rpc_error_details } from "@switchboard/gen/google/rpc/error_details_pb.js";
import type { ServiceModule } from "./service-module.ts";
import { serviceModules } from "./services.ts";
import { openDatabase } from "./db/open.ts";
import { interopModule } from "./interop/interop-module.ts";
import { trackDecompression, withMessageCompression } from "./message-compression.ts";
import { backendReporter } from "./cluster/backend-status.ts";
import { defaultAdvertise } from "./registry/advertise.ts";

/** How long after its deadline a call that could not end by itself is cut. */
const deadlineGraceMs = 1_000;

/** A started server. */
export interface RunningServer {
  /** The port it listens on (useful with `port: 0`). */
  readonly port: number;
  /** Base URL, e.g. "http://127.0.0.1:8080". */
  readonly url: string;
  readonly options: ServerOptions;
  readonly health: HealthStatus;
  readonly logger: Logger;
  /** The Prometheus metrics; undefined with `metrics: false`. */
  readonly metrics: Metrics | undefined;
  /** Where /metrics is served (the service port or `metricsPort`); undefined with `metrics: false`. */
  readonly metricsUrl: string | undefined;
  /** The hosted application services (not health or reflection). */
  readonly services: readonly DescService[];
  /**
   * Graceful shutdown: health NOT_SERVING, no new connections (GOAWAY),
   * long-lived streams end with UNAVAILABLE, in-flight calls finish; after
   * `shutdownTimeoutMs` the remaining connections are cut. Idempotent.
   */
  close(): Promise<void>;
}

/** Options of `start()` beyond ServerOptions. */
export interface StartOptions extends Partial<ServerOptions> {
  /** Use this logger instead of creating one from `logLevel`. */
  logger?: Logger;
  /**
   * Called during shutdown before draining begins — e.g. to deregister from a
   * service registry and wait a grace period while still serving.
   */
  beforeDrain?: Array<() => Promise<void>>;
  /**
   * Records a span per RPC. Default: OpenTelemetry over OTLP when
   * OTEL_EXPORTER_OTLP_ENDPOINT is set (SDK loaded only then), else none.
   */
  tracer?: RpcTracer;
}

/**
 * Starts a server: opens the hosted services, mounts them with health,
 * reflection and CORS, and listens. Tests call this with `port: 0`.
 * Start order: services, routes, listener; close() undoes it in reverse.
 */
export async function start(init: StartOptions = {}): Promise<RunningServer> {
  const { logger: givenLogger, beforeDrain = [], tracer: givenTracer, ...overrides } = init;
  const options: ServerOptions = { ...defaultServerOptions, ...stripUndefined(overrides) };
  const logger = givenLogger ?? createLogger(options.logLevel);
  const shutdown = new AbortController();
  // etcd registration and the ClusterService view (inert without --etcd).
  const cluster = setupCluster(options, logger);
  const metrics = options.metrics ? createMetrics() : undefined;
  if (metrics) clusterMetrics(metrics.registry, cluster);
  const tracer = givenTracer ?? (await tracerFromEnv(process.env, logger));

  // 1. Services (each opens its own storage; cluster mode shares one PostgreSQL pool).
  const health = new HealthStatus();
  const modules: ServiceModule[] = [];
  let db: Awaited<ReturnType<typeof openDatabase>>;
  try {
    db = await openDatabase(options, logger);
  } catch (err) {
    await cluster.close();
    throw err;
  }
  try {
    for (const name of options.services) {
      modules.push(
        await serviceModules[name]({
          options,
          logger,
          health,
          shutdownSignal: shutdown.signal,
          metrics,
          db: db?.db,
        }),
      );
    }
    if (options.interop) {
      modules.push(await interopModule({ options, logger, health, shutdownSignal: shutdown.signal }));
    }
  } catch (err) {
    await closeAll(modules, logger);
    await db?.close();
    await cluster.close();
    throw err;
  }
  const services = modules.flatMap((m) => m.services);
  for (const s of services) health.set(s.typeName, ServingStatus.SERVING);
  db?.followHealth(health, services, shutdown.signal);

  /** "host:port" of this instance, once it listens (for ClusterService status). */
  let selfAddress = "";
  // 2. Routes: the services, health and reflection, behind CORS.
  const files = [
    file_grpc_health_v1_health,
    reflectionV1.file_grpc_reflection_v1_reflection,
    reflectionV1alpha.file_grpc_reflection_v1alpha_reflection,
    file_cluster_v1_cluster,
    ...services.map((s) => s.file),
  ];
  const served: DescService[] = [
    ...services,
    Health,
    ClusterService,
    reflectionV1.ServerReflection,
    reflectionV1alpha.ServerReflection,
  ];
  const routes = (router: ConnectRouter) => {
    for (const m of modules) m.register(router);
    registerHealth(router, health);
    registerClusterService(router, cluster.view, cluster.workers, {
      address: () => selfAddress,
      services: () => services.map((s) => s.typeName),
      backends: backendReporter(options, modules, db?.db),
      scheme: options.tlsCert ? "https" : "http",
    });
    registerReflection(router, files, () => served);
  };
  // Metrics first (they count every call that reaches an implementation),
  // then the trace context, which the request log line carries.
  const interceptors = [
    ...(metrics ? [metricsInterceptor(metrics.rpc)] : []),
    traceInterceptor(tracer),
    ...(options.logRequests ? [requestLogInterceptor(logger)] : []),
  ];
  const staticFiles = createStaticFiles(options.webDir);
  // The routes are recorded so the fast path calls the same implementations.
  const recorded = recordRoutes(routes);
  const connectHandler = connectNodeAdapter({
    routes: recorded.routes,
    fallback: metrics ? countUnknownProcedures(staticFiles, metrics.rpc) : staticFiles,
    readMaxBytes: options.maxMessageBytes,
    writeMaxBytes: options.maxMessageBytes,
    // connect-node's defaults, marking each decompressed request message for the handler.
    acceptCompression: [trackDecompression(compressionGzip), trackDecompression(compressionBrotli)],
    shutdownSignal: shutdown.signal,
    interceptors: [...interceptors, abortRequestStreamInterceptor],
    requestGate: createConnectRequestGate(options.maxMessageBytes),
  });
  const fast = options.fastPath
    ? createFastPath(recorded.table, {
        readMaxBytes: options.maxMessageBytes,
        writeMaxBytes: options.maxMessageBytes,
        compressMinBytes: 1024, // connect-node's default
        shutdownSignal: shutdown.signal,
        interceptors,
      })
    : undefined;
  // REST/JSON from the google.api.http rules: the same implementations and interceptors.
  const rest = createRestGateway(served, recorded.table, {
    readMaxBytes: options.maxMessageBytes,
    writeMaxBytes: options.maxMessageBytes,
    shutdownSignal: shutdown.signal,
    interceptors,
    registry: createRegistry(file_google_rpc_error_details, ...files),
    openApi: readOpenApi(),
    logger,
  });
  const cors = createCors(options.corsOrigins, rest.routes.map((r) => r.binding.verb));
  const streams = streamingPaths(served);
  const serveMetrics = metrics
    ? metricsEndpoint(metrics.registry, { authToken: options.metricsPublic ? undefined : options.authToken })
    : undefined;
  const metricsOnMainPort = serveMetrics !== undefined && options.metricsPort === undefined;

  // 3. The port.
  let listener: Listener;
  let metricsListener: Listener | undefined;
  try {
    const handler: RequestHandler = (req, res) => {
      if (metricsOnMainPort && isMetricsRequest(req)) return serveMetrics!(req, res);
      enforceDeadline(req, res, deadlineGraceMs);
      closeWhenAnswered(req);
      cors(req, res, () => {
        if (rest.handle(req, res)) return;
        if (answerUnaryToStream(req, res, streams)) return;
        withMessageCompression(req, res, () => connectHandler(req, res));
      });
    };
    const withFastPath: RequestHandler = (req, res) => {
      // HTTP/2 requests reach here only when the fast path declined their stream.
      if (req.httpVersionMajor === 1 && fast!.http1(req as IncomingMessage, res as ServerResponse)) return;
      handler(req, res);
    };
    listener = await listen(fast ? withFastPath : handler, {
      host: options.host,
      port: options.port,
      tlsCert: options.tlsCert,
      tlsKey: options.tlsKey,
      sniffTimeoutMs: options.sniffTimeoutMs,
      timeouts: options.timeouts,
      maxConcurrentStreams: options.maxConcurrentStreams,
      maxConnections: options.maxConnections,
      streamHandler: fast?.http2,
      logger,
    });
    if (serveMetrics !== undefined && options.metricsPort !== undefined) {
      try {
        metricsListener = await listen(
          (req, res) => {
            if (isMetricsRequest(req)) return serveMetrics(req, res);
            const r = res as ServerResponse;
            r.writeHead(404, { "content-type": "text/plain; charset=utf-8" });
            r.end("not found: this port serves /metrics\n");
          },
          // The same TLS as the service port, if any (the token may travel on it).
          {
            host: options.host,
            port: options.metricsPort,
            tlsCert: options.tlsCert,
            tlsKey: options.tlsKey,
            sniffTimeoutMs: options.sniffTimeoutMs,
            logger,
          },
        );
      } catch (err) {
        listener.stopAccepting();
        listener.destroyAll();
        throw err;
      }
    }
  } catch (err) {
    await closeAll(modules, logger);
    await db?.close();
    await cluster.close();
    throw err;
  }
  logger.info(
    { url: listener.url, port: listener.port, tls: listener.tls, services: services.map((s) => s.typeName) },
    "serving gRPC, gRPC-Web and Connect",
  );
  const metricsUrl = metricsListener
    ? `${metricsListener.url}/metrics`
    : metrics
      ? `${listener.url}/metrics`
      : undefined;
  if (metricsUrl !== undefined) logger.info({ metricsUrl, tracing: tracer !== undefined }, "serving Prometheus metrics");
  selfAddress = options.advertise ?? defaultAdvertise(options.host, listener.port);
  cluster.register(options.host, listener.port, services.map((s) => s.typeName));

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      logger.info("shutting down");
      // Deregistration (then its grace period) comes first, while still serving.
      for (const hook of [() => cluster.beforeDrain(), ...beforeDrain]) {
        try {
          await hook();
        } catch (err) {
          logger.warn({ err: (err as Error).message }, "shutdown hook failed");
        }
      }
      health.setAll(ServingStatus.NOT_SERVING);
      listener.stopAccepting();
      metricsListener?.stopAccepting();
      shutdown.abort(shuttingDown());
      const drained = await Promise.race([
        listener.drained().then(() => true),
        new Promise<boolean>((r) => setTimeout(() => r(false), options.shutdownTimeoutMs).unref()),
      ]);
      if (!drained) {
        logger.warn({ connections: listener.connectionCount() }, "shutdown timeout: closing remaining connections");
        listener.destroyAll();
      }
      metricsListener?.destroyAll();
      await closeAll(modules, logger);
      await db?.close();
      await cluster.close();
      await tracer?.shutdown().catch((err: unknown) => logger.warn({ err: (err as Error).message }, "trace export failed"));
      logger.info("stopped");
    })());

  return {
    port: listener.port,
    url: listener.url,
    options,
    health,
    logger,
    metrics,
    metricsUrl,
    services,
    close,
  };
}

async function closeAll(modules: ServiceModule[], logger: Logger): Promise<void> {
  for (const m of [...modules].reverse()) {
    try {
      await m.close();
    } catch (err) {
      logger.error({ err: (err as Error).message }, "closing a service failed");
    }
  }
}

/** The OpenAPI document `npm run generate` wrote (tools/protoc-gen-openapi), if present. */
function readOpenApi(): string | undefined {
  let file: URL;
  try {
    file = new URL(import.meta.resolve("@switchboard/gen/openapi/openapi.json"));
  } catch {
    return undefined; // resolving a subpath whose file is missing throws
  }
  return existsSync(file) ? readFileSync(file, "utf8") : undefined;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
