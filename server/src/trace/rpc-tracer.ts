import type { DescMethod } from "@bufbuild/protobuf";
import type { RpcProtocol } from "../metrics/rpc-metrics.ts";
import type { TraceContext } from "./trace-context.ts";

/** A recorded span of one call. */
export interface RpcSpan {
  /** The call's trace context: this span's ids, for the log and for calls made on its behalf. */
  readonly context: TraceContext;
  /** Ends the span; `error` undefined = OK, else the call's error. */
  end(error: unknown): void;
}

/** Records one span per call (see otel.ts); absent when tracing is off. */
export interface RpcTracer {
  start(method: DescMethod, protocol: RpcProtocol, incoming: TraceContext): RpcSpan;
  /** Exports what is buffered and stops. */
  shutdown(): Promise<void>;
}

/** Minimal logger shape (pino's). */
interface InfoLogger {
  info(obj: object, msg: string): void;
}

/**
 * The OpenTelemetry tracer when OTEL_EXPORTER_OTLP_ENDPOINT (or
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set; the SDK is imported only then,
 * so a server without it pays nothing for tracing beyond the trace id.
 */
export async function tracerFromEnv(env: NodeJS.ProcessEnv, logger: InfoLogger): Promise<RpcTracer | undefined> {
  const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (!endpoint) return undefined;
  const { createOtlpTracer } = await import("./otel.ts");
  const tracer = await createOtlpTracer();
  // The origin only: a URL may carry credentials.
  logger.info({ endpoint: URL.canParse(endpoint) ? new URL(endpoint).origin : "(set)" }, "OpenTelemetry: exporting RPC spans over OTLP");
  return tracer;
}
