// Loaded only when OTEL_EXPORTER_OTLP_ENDPOINT is set (see tracerFromEnv), or by tests.
import { createTraceState, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BasicTracerProvider, BatchSpanProcessor, type SpanProcessor } from "@opentelemetry/sdk-trace-base";
import { ATTR_SERVICE_NAME } from "@opentelemetry/semantic-conventions";
import { Code, ConnectError } from "@connectrpc/connect";
import { codeToString } from "@connectrpc/connect/protocol-connect";
import type { RpcSpan, RpcTracer } from "./rpc-tracer.ts";

/**
 * gRPC codes that mark a server span as an error (OpenTelemetry's RPC
 * conventions: a server's span is an error only for codes that mean the
 * server failed, not the caller's mistakes such as NotFound).
 */
const serverErrorCodes = new Set<number>([
  Code.Unknown,
  Code.DeadlineExceeded,
  Code.Unimplemented,
  Code.Internal,
  Code.Unavailable,
  Code.DataLoss,
]);

/** Spans exported over OTLP/HTTP; the exporter reads OTEL_EXPORTER_OTLP_* (endpoint, headers, timeout) itself. */
export async function createOtlpTracer(): Promise<RpcTracer> {
  return createSdkTracer(new BatchSpanProcessor(new OTLPTraceExporter()));
}

/**
 * An RpcTracer on the official SDK: one SERVER span per call, a child of the
 * caller's traceparent when it sent one, named `<package.Service>/<Method>`
 * with the RPC semantic-convention attributes (rpc.system, rpc.service,
 * rpc.method, rpc.grpc.status_code or rpc.connect_rpc.error_code). Attribute
 * names are written out: the conventions package keeps the RPC ones in its
 * "incubating" entry, which it asks users not to import.
 */
export function createSdkTracer(processor: SpanProcessor): RpcTracer {
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: process.env.OTEL_SERVICE_NAME || "switchboard" }),
    spanProcessors: [processor],
  });
  const tracer = provider.getTracer("switchboard");
  return {
    start(method, protocol, incoming): RpcSpan {
      const parent =
        incoming.parentSpanId === undefined
          ? ROOT_CONTEXT
          : trace.setSpanContext(ROOT_CONTEXT, {
              traceId: incoming.traceId,
              spanId: incoming.parentSpanId,
              traceFlags: Number.parseInt(incoming.flags, 16),
              isRemote: true,
              traceState: incoming.traceState === undefined ? undefined : createTraceState(incoming.traceState),
            });
      const system = protocol === "connect" ? "connect_rpc" : "grpc";
      const span = tracer.startSpan(
        `${method.parent.typeName}/${method.name}`,
        {
          kind: SpanKind.SERVER,
          attributes: { "rpc.system": system, "rpc.service": method.parent.typeName, "rpc.method": method.name },
        },
        parent,
      );
      const sc = span.spanContext();
      return {
        context: {
          traceId: sc.traceId,
          spanId: sc.spanId,
          parentSpanId: incoming.parentSpanId,
          flags: sc.traceFlags.toString(16).padStart(2, "0"),
          traceState: incoming.traceState,
        },
        end(error) {
          const code = error === undefined ? 0 : ConnectError.from(error).code;
          if (system === "grpc") span.setAttribute("rpc.grpc.status_code", code);
          else if (code !== 0) span.setAttribute("rpc.connect_rpc.error_code", codeToString(code));
          if (serverErrorCodes.has(code)) {
            span.setStatus({ code: SpanStatusCode.ERROR, message: ConnectError.from(error).rawMessage });
          }
          span.end();
        },
      };
    },
    shutdown: () => provider.shutdown(),
  };
}
