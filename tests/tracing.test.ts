// W3C trace context and OpenTelemetry spans (the SDK's in-memory exporter):
// one SERVER span per RPC with the RPC semantic-convention attributes, the
// caller's traceparent continued, and the trace carried on through task
// dispatch to the worker's StartTask/FinishTask calls and the task's process.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { SpanKind, SpanStatusCode } from "@opentelemetry/api";
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { OrderService } from "@switchboard/gen/order/v1/order_pb.js";
import { NodeService, TaskState } from "@switchboard/gen/node/v1/node_pb.js";
import { start, type RunningServer } from "@switchboard/server/server";
import { silentLogger } from "@switchboard/server/logger";
import { createSdkTracer } from "@switchboard/server/trace/otel";
import { startWorker } from "@switchboard/node-client/worker";
import { eventually } from "@switchboard/test-harness/eventually";
import { watchToEnd } from "@switchboard/test-harness/node-tasks";

const exporter = new InMemorySpanExporter();
let server: RunningServer;
let dataDir: string;

before(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), "switchboard-trace-"));
  server = await start({
    host: "127.0.0.1",
    port: 0,
    dataDir,
    logger: silentLogger(),
    tracer: createSdkTracer(new SimpleSpanProcessor(exporter)),
  });
});
after(async () => {
  await server?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const traceId = "0af7651916cd43dd8448eb211c80319c";
const callerSpan = "b7ad6b7169203331";
const spansNamed = (name: string) => exporter.getFinishedSpans().filter((s) => s.name === name);

test("a SERVER span per RPC, child of the caller's traceparent, with the RPC conventions", async () => {
  const grpc = createClient(OrderService, createGrpcTransport({ baseUrl: server.url }));
  await grpc.getOrder({ id: "102" }, { headers: { traceparent: `00-${traceId}-${callerSpan}-01`, tracestate: "vendor=abc" } });
  const connect = createClient(OrderService, createConnectTransport({ baseUrl: server.url, httpVersion: "1.1" }));
  try {
    await connect.getOrder({ id: "no-such-order" });
    assert.fail("expected NotFound");
  } catch (err) {
    assert.equal(ConnectError.from(err).code, Code.NotFound);
  }
  const [ok, notFound] = await eventually(() => {
    const s = spansNamed("order.v1.OrderService/GetOrder");
    return s.length >= 2 ? s : undefined;
  });
  assert.equal(ok!.kind, SpanKind.SERVER);
  assert.equal(ok!.spanContext().traceId, traceId);
  assert.equal(ok!.parentSpanContext?.spanId, callerSpan);
  assert.equal(ok!.spanContext().traceState?.get("vendor"), "abc");
  assert.deepEqual(ok!.attributes, {
    "rpc.system": "grpc",
    "rpc.service": "order.v1.OrderService",
    "rpc.method": "GetOrder",
    "rpc.grpc.status_code": 0,
  });
  assert.equal(ok!.status.code, SpanStatusCode.UNSET);

  assert.notEqual(notFound!.spanContext().traceId, traceId, "no traceparent: a new trace");
  assert.equal(notFound!.parentSpanContext, undefined);
  assert.equal(notFound!.attributes["rpc.system"], "connect_rpc");
  assert.equal(notFound!.attributes["rpc.connect_rpc.error_code"], "not_found");
  // NotFound is the caller's problem: the server span is not an error.
  assert.equal(notFound!.status.code, SpanStatusCode.UNSET);
});

test("task dispatch carries the trace: SubmitTask → worker StartTask/FinishTask → $TRACEPARENT of the task", async () => {
  const nodes = createClient(NodeService, createGrpcTransport({ baseUrl: server.url }));
  const workdir = mkdtempSync(path.join(tmpdir(), "switchboard-trace-worker-"));
  const worker = await startWorker({ serverUrl: server.url, id: "trace-worker", allow: ["sh"], workdir });
  try {
    const { taskId } = await nodes.submitTask(
      { command: { program: "sh", args: ["-c", 'printf %s "$TRACEPARENT"'] } },
      { headers: { traceparent: `00-${traceId}-${callerSpan}-01` } },
    );
    const { task } = await watchToEnd(nodes, taskId);
    assert.equal(task.state, TaskState.SUCCEEDED, task.reason);
    const [submit] = spansNamed("node.v1.NodeService/SubmitTask");
    assert.ok(submit, "SubmitTask span");
    assert.equal(submit.spanContext().traceId, traceId);
    const expected = `00-${traceId}-${submit.spanContext().spanId}-01`;
    assert.equal(task.traceparent, expected, "the task keeps the SubmitTask span as its parent");
    assert.equal(task.result?.stdout, expected, "the task's process got $TRACEPARENT");
    const children = await eventually(() => {
      const s = [...spansNamed("node.v1.NodeService/StartTask"), ...spansNamed("node.v1.NodeService/FinishTask")];
      return s.length >= 2 ? s : undefined;
    });
    for (const s of children as ReadableSpan[]) {
      assert.equal(s.spanContext().traceId, traceId, `${s.name} is in the submitter's trace`);
      assert.equal(s.parentSpanContext?.spanId, submit.spanContext().spanId);
    }
  } finally {
    await worker.stop();
    rmSync(workdir, { recursive: true, force: true });
  }
});

test("the OpenTelemetry SDK is loaded only when OTEL_EXPORTER_OTLP_ENDPOINT is set", async () => {
  const { execFile } = await import("node:child_process");
  const script = `
    import { registerHooks } from "node:module";
    const seen = new Set();
    registerHooks({ resolve(specifier, context, next) {
      if (specifier.startsWith("@opentelemetry/")) seen.add(specifier);
      return next(specifier, context);
    } });
    const { start } = await import(${JSON.stringify(new URL("../server/src/server.ts", import.meta.url).href)});
    const { mkdtempSync, rmSync } = await import("node:fs");
    const dataDir = mkdtempSync(process.env.TMPDIR_BASE + "/sb-otel-");
    const server = await start({ host: "127.0.0.1", port: 0, logLevel: "silent", services: ["order"], dataDir, deregisterGraceMs: 0 });
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
    process.stdout.write(JSON.stringify([...seen]));
  `;
  const run = (env: NodeJS.ProcessEnv) =>
    new Promise<string[]>((resolve, reject) => {
      const base: NodeJS.ProcessEnv = { ...process.env, TMPDIR_BASE: tmpdir() };
      delete base.OTEL_EXPORTER_OTLP_ENDPOINT;
      delete base.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
      execFile(process.execPath, ["--input-type=module", "-e", script], { env: { ...base, ...env }, timeout: 60_000 }, (err, stdout, stderr) =>
        err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(JSON.parse(stdout) as string[]),
      );
    });
  // @opentelemetry/api (the no-op API, no SDK) is required by prom-client's
  // process_cpu_seconds_total collector itself; the SDK must not be loaded.
  assert.deepEqual(
    (await run({})).filter((m) => m !== "@opentelemetry/api"),
    [],
    "no OpenTelemetry SDK module without the variable",
  );
  const loaded = await run({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:9" });
  for (const m of ["@opentelemetry/sdk-trace-base", "@opentelemetry/exporter-trace-otlp-http"]) {
    assert.ok(loaded.includes(m), `${m} loaded with the variable (got ${loaded.join(", ")})`);
  }
});
