// The per-call CPU cost of the metrics interceptor on the fast path's unary
// invoker (server/src/fastpath/invoke.ts), measured in-process so a shared,
// loaded machine disturbs it less than an end-to-end run:
//   node bench/interceptor-cost.ts [calls=200000] [rounds=7]
// Chains compared, alternating: [request log] (before tracing), [trace,
// request log] (as with --no-metrics) and [metrics, trace, request log] (the default). The request log's logger
// is silent here, so its line formatting is not in either figure.
import { create } from "@bufbuild/protobuf";
import { createServiceImplSpec } from "@connectrpc/connect";
import { GetOrderRequestSchema, GetOrderResponseSchema, OrderService } from "@switchboard/gen/order/v1/order_pb.js";
import { FastContext } from "@switchboard/server/fastpath/fast-context";
import { createInvoker, type UnaryInvoker } from "@switchboard/server/fastpath/invoke";
import { metricsInterceptor } from "@switchboard/server/interceptors/metrics";
import { requestLogInterceptor } from "@switchboard/server/interceptors/request-log";
import { traceInterceptor } from "@switchboard/server/interceptors/trace";
import { silentLogger } from "@switchboard/server/logger";
import { createMetrics } from "@switchboard/server/metrics/metrics";
import { median } from "./median.ts";

const calls = Number(process.argv[2] ?? 200_000);
const rounds = Number(process.argv[3] ?? 7);
const response = create(GetOrderResponseSchema, { order: { id: "102", items: ["x"], destination: "y" } });
const spec = createServiceImplSpec(OrderService, { getOrder: () => response } as never).methods.getOrder!;
const log = requestLogInterceptor(silentLogger());
const chains = {
  "log only": [log],
  "no metrics": [traceInterceptor(), log],
  metrics: [metricsInterceptor(createMetrics().rpc), traceInterceptor(), log],
};
const shutdown = new AbortController().signal;
const headers = { ":path": "/order.v1.OrderService/GetOrder", "content-type": "application/grpc" };
const input = create(GetOrderRequestSchema, { id: "102" });

async function run(invoke: UnaryInvoker): Promise<number> {
  const t0 = process.cpuUsage();
  for (let i = 0; i < calls; i++) {
    const ctx = new FastContext(spec.method, "grpc", "POST", undefined, headers, shutdown, undefined);
    await invoke(ctx, input);
    ctx.release();
  }
  const d = process.cpuUsage(t0);
  return ((d.user + d.system) * 1000) / calls; // ns per call
}

const results: Record<string, number[]> = { "log only": [], "no metrics": [], metrics: [] };
for (let r = 0; r < rounds; r++) {
  for (const [name, chain] of Object.entries(chains)) {
    const inv = createInvoker(spec, chain);
    if (inv?.kind !== "unary") throw new Error("not unary");
    results[name]!.push(await run(inv.invoke));
  }
}
const l = median(results["log only"]!.slice(1));
const a = median(results["no metrics"]!.slice(1));
const b = median(results.metrics!.slice(1));
console.log(`CPU ns per call (median of ${rounds - 1} rounds after a warm-up round, ${calls} calls each):`);
console.log(`  [request log]                 ${l.toFixed(0)}`);
console.log(`  [trace, request log]          ${a.toFixed(0)}`);
console.log(`  [metrics, trace, request log] ${b.toFixed(0)}`);
console.log(`  trace context cost            ${(a - l).toFixed(0)} ns per call`);
console.log(`  metrics cost                  ${(b - a).toFixed(0)} ns per call`);
