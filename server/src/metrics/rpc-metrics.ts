import type { DescMethod } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import type { Registry } from "prom-client";
import { CounterCells, HistogramCells, type CounterCell, type HistogramCell, type Labels } from "./cells.ts";

/** The wire protocol of a call, as the metric label `protocol` and the request log spell it. */
/** The wire protocol label; "rest" is the REST/JSON gateway (google.api.http rules). */
export type RpcProtocol = "grpc" | "grpc_web" | "connect" | "rest";
const protocols: readonly RpcProtocol[] = ["grpc", "grpc_web", "connect", "rest"];

/** go-grpc-middleware's `grpc_type` values. */
const grpcTypes: Record<DescMethod["methodKind"], string> = {
  unary: "unary",
  client_streaming: "client_stream",
  server_streaming: "server_stream",
  bidi_streaming: "bidi_stream",
};

/** A gRPC status code as its name: "OK", "NotFound", "InvalidArgument"… (grpc-go's `codes.Code.String()`). */
export function codeName(code: number): string {
  return code === 0 ? "OK" : (Code[code] ?? "Unknown");
}

/** The label value used for every method the server does not know (one series, never the raw path). */
export const unknownLabel = "unknown";

/** The cells of one (method, protocol): looked up once, then updated with field increments. */
export class RpcSeries {
  readonly started: CounterCell;
  readonly received: CounterCell;
  readonly sent: CounterCell;
  readonly handling: HistogramCell;
  readonly #handled: Array<CounterCell | undefined> = [];
  readonly #labels: Labels;
  readonly #metrics: RpcMetrics;
  constructor(metrics: RpcMetrics, labels: Labels) {
    this.#metrics = metrics;
    this.#labels = labels;
    this.started = metrics.started.cell(labels);
    this.received = metrics.received.cell(labels);
    this.sent = metrics.sent.cell(labels);
    this.handling = metrics.handling.cell(labels);
  }
  /** The call ended with `code` (0 = OK) after `seconds`. */
  handled(code: number, seconds: number): void {
    const cell = (this.#handled[code] ??= this.#metrics.handled.cell({ ...this.#labels, grpc_code: codeName(code) }));
    cell.value++;
    this.handling.observe(seconds);
  }
}

const labelNames = ["grpc_type", "grpc_service", "grpc_method", "protocol"];

/**
 * The server-side RPC metrics of go-grpc-middleware's Prometheus provider
 * (same names, labels and code names, so existing gRPC dashboards and alerts
 * work), each with one extra label `protocol`.
 */
export class RpcMetrics {
  readonly started = new CounterCells(
    "grpc_server_started_total",
    "Total number of RPCs started on the server.",
    labelNames,
  );
  readonly handled = new CounterCells(
    "grpc_server_handled_total",
    "Total number of RPCs completed on the server, regardless of success or failure.",
    [...labelNames, "grpc_code"],
  );
  readonly received = new CounterCells(
    "grpc_server_msg_received_total",
    "Total number of RPC stream messages received on the server.",
    labelNames,
  );
  readonly sent = new CounterCells(
    "grpc_server_msg_sent_total",
    "Total number of gRPC stream messages sent by the server.",
    labelNames,
  );
  readonly handling = new HistogramCells(
    "grpc_server_handling_seconds",
    "Histogram of response latency (seconds) of gRPC that had been application-level handled by the server.",
    labelNames,
  );
  readonly #byMethod = new WeakMap<DescMethod, RpcSeries[]>();
  readonly #unknown: RpcSeries[] = [];

  /** The series of a method the server serves. */
  series(method: DescMethod, protocol: RpcProtocol): RpcSeries {
    let byProtocol = this.#byMethod.get(method);
    if (byProtocol === undefined) this.#byMethod.set(method, (byProtocol = []));
    const i = protocols.indexOf(protocol);
    return (byProtocol[i] ??= new RpcSeries(this, {
      grpc_type: grpcTypes[method.methodKind],
      grpc_service: method.parent.typeName,
      grpc_method: method.name,
      protocol,
    }));
  }

  /** The one series of every call to a procedure the server does not know. */
  unknown(protocol: RpcProtocol): RpcSeries {
    const i = protocols.indexOf(protocol);
    return (this.#unknown[i] ??= new RpcSeries(this, {
      grpc_type: unknownLabel,
      grpc_service: unknownLabel,
      grpc_method: unknownLabel,
      protocol,
    }));
  }

  registerIn(registry: Registry): this {
    for (const m of [this.started, this.handled, this.received, this.sent, this.handling]) m.registerIn(registry);
    return this;
  }
}
