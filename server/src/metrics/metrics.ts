import { collectDefaultMetrics, Registry } from "prom-client";
import { LogMetrics } from "./log-metrics.ts";
import { RpcMetrics } from "./rpc-metrics.ts";
import { TaskMetrics } from "./task-metrics.ts";

/**
 * The server's Prometheus metrics, in one prom-client Registry (one per
 * server, so several servers in one process — tests — do not share counts).
 * Services find their part through ServiceContext.metrics.
 */
export interface Metrics {
  readonly registry: Registry;
  readonly rpc: RpcMetrics;
  readonly log: LogMetrics;
  readonly tasks: TaskMetrics;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  // process_cpu_seconds_total, nodejs_heap_size_used_bytes, nodejs_eventloop_lag_*, nodejs_gc_duration_seconds…
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    rpc: new RpcMetrics().registerIn(registry),
    log: new LogMetrics(registry),
    tasks: new TaskMetrics(registry),
  };
}
