// grpc.health.v1.Health and server reflection (v1 + v1alpha), through
// `buf curl` (which uses reflection) and through our own reflection client.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema, MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { Health, HealthCheckResponse_ServingStatus as Status } from "@switchboard/gen/grpc/health/v1/health_pb.js";
import * as reflectionV1 from "@switchboard/gen/grpc/reflection/v1/reflection_pb.js";
import * as reflectionV1alpha from "@switchboard/gen/grpc/reflection/v1alpha/reflection_pb.js";
import { grpcClient } from "@switchboard/test-harness/clients";
import { startServerProcess, type ServerProcess } from "@switchboard/test-harness/server-process";
import { buf } from "@switchboard/test-harness/tools";

let server: ServerProcess;
before(async () => {
  server = await startServerProcess();
});
after(() => server?.cleanup());

const grpcFlags = () => ["--protocol", "grpc", "--http2-prior-knowledge"];

describe("reflection through buf curl", () => {
  for (const proto of ["grpc-v1", "grpc-v1alpha"]) {
    test(`--reflect-protocol ${proto}: list services and call GetOrder`, async () => {
      const list = await buf(["curl", ...grpcFlags(), "--reflect-protocol", proto, "--list-services", server.url]);
      assert.equal(list.code, 0, list.stderr);
      assert.deepEqual(list.stdout.trim().split("\n").sort(), [
        "cluster.v1.ClusterService",
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
        "log.v1.LogService",
        "node.v1.NodeService",
        "order.v1.OrderService",
      ]);
      const got = await buf([
        "curl", ...grpcFlags(), "--reflect-protocol", proto,
        "-d", '{"id":"102"}', `${server.url}/order.v1.OrderService/GetOrder`,
      ]);
      assert.equal(got.code, 0, got.stderr);
      const body = JSON.parse(got.stdout) as { order: { items: string[]; priceCents: string } };
      assert.deepEqual(body.order.items, ["Google Pixel 3A", "Mac Book Pro"]);
      assert.equal(body.order.priceCents, "180000");
    });
  }

  test("--list-methods shows the six OrderService RPCs", async () => {
    const r = await buf(["curl", ...grpcFlags(), "--list-methods", server.url]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split("\n").filter((l) => l.startsWith("order.")).sort(), [
      "order.v1.OrderService/AddOrder",
      "order.v1.OrderService/GetOrder",
      "order.v1.OrderService/ProcessOrders",
      "order.v1.OrderService/SearchOrders",
      "order.v1.OrderService/UpdateOrder",
      "order.v1.OrderService/UpdateOrders",
    ]);
  });

  test("a server-streaming call and an error through buf curl over Connect", async () => {
    const r = await buf(["curl", "--protocol", "connect", "-d", '{"query":"echo"}', `${server.url}/order.v1.OrderService/SearchOrders`]);
    assert.equal(r.code, 0, r.stderr);
    // One JSON document per message.
    const ids = [...r.stdout.matchAll(/"id":\s*"(\d+)"/g)].map((m) => m[1]);
    assert.deepEqual(ids, ["105", "106"]);
    const missing = await buf(["curl", "--protocol", "connect", "-d", '{"id":"nope"}', `${server.url}/order.v1.OrderService/GetOrder`]);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stdout + missing.stderr, /not_found/);
  });
});

describe("reflection, describe-like (file containing symbol)", () => {
  const versions = [
    { name: "v1", service: reflectionV1.ServerReflection },
    { name: "v1alpha", service: reflectionV1alpha.ServerReflection },
  ] as const;
  for (const v of versions) {
    test(`${v.name}: node.v1.NodeService comes with its well-known-type imports; OrderService describes fully`, async () => {
      const client = grpcClient(v.service as typeof reflectionV1.ServerReflection, server.url);
      async function* requests() {
        yield { host: "", messageRequest: { case: "fileContainingSymbol" as const, value: "node.v1.NodeService" } };
        // A second ask on the same stream does not resend the imports.
        yield { host: "", messageRequest: { case: "fileContainingSymbol" as const, value: "node.v1.NodeService" } };
        yield { host: "", messageRequest: { case: "fileContainingSymbol" as const, value: "order.v1.OrderService.GetOrder" } };
        yield { host: "", messageRequest: { case: "fileContainingSymbol" as const, value: "no.such.Symbol" } };
      }
      const answers: reflectionV1.ServerReflectionResponse["messageResponse"][] = [];
      for await (const res of client.serverReflectionInfo(requests())) answers.push(res.messageResponse);
      const names = (i: number) => {
        const a = answers[i]!;
        assert.equal(a.case, "fileDescriptorResponse");
        return a.value.fileDescriptorProto.map((b) => fromBinary(FileDescriptorProtoSchema, b).name);
      };
      const first = names(0);
      assert.equal(first[0], "node/v1/node.proto");
      assert.ok(first.includes("google/protobuf/duration.proto"), first.join());
      assert.ok(first.includes("google/protobuf/timestamp.proto"), first.join());
      assert.deepEqual(names(1), ["node/v1/node.proto"]);

      const order = answers[2]!;
      assert.equal(order.case, "fileDescriptorResponse");
      const file = fromBinary(FileDescriptorProtoSchema, order.value.fileDescriptorProto[0]!);
      assert.equal(file.name, "order/v1/order.proto");
      assert.equal(file.package, "order.v1");
      const svc = file.service.find((s) => s.name === "OrderService")!;
      assert.deepEqual(
        svc.method.map((m) => [m.name, m.inputType, m.outputType, m.clientStreaming ?? false, m.serverStreaming ?? false]),
        [
          ["AddOrder", ".order.v1.AddOrderRequest", ".order.v1.AddOrderResponse", false, false],
          ["GetOrder", ".order.v1.GetOrderRequest", ".order.v1.GetOrderResponse", false, false],
          ["SearchOrders", ".order.v1.SearchOrdersRequest", ".order.v1.SearchOrdersResponse", false, true],
          ["UpdateOrder", ".order.v1.UpdateOrderRequest", ".order.v1.UpdateOrderResponse", false, false],
          ["UpdateOrders", ".order.v1.UpdateOrdersRequest", ".order.v1.UpdateOrdersResponse", true, false],
          ["ProcessOrders", ".order.v1.ProcessOrdersRequest", ".order.v1.ProcessOrdersResponse", true, true],
        ],
      );
      assert.equal(
        svc.method.find((m) => m.name === "GetOrder")!.options?.idempotencyLevel,
        MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS,
      );
      assert.equal(
        svc.method.find((m) => m.name === "UpdateOrder")!.options?.idempotencyLevel,
        MethodOptions_IdempotencyLevel.IDEMPOTENT,
      );
      const missing = answers[3]!;
      assert.equal(missing.case, "errorResponse");
      assert.equal(missing.value.errorCode, Code.NotFound);
    });
  }
});

describe("health", () => {
  test("Check: overall, per service, unknown → NOT_FOUND", async () => {
    const health = grpcClient(Health, server.url);
    assert.equal((await health.check({ service: "" })).status, Status.SERVING);
    assert.equal((await health.check({ service: "order.v1.OrderService" })).status, Status.SERVING);
    const err = await health.check({ service: "no.such.Service" }).then(
      () => assert.fail("expected NOT_FOUND"),
      (e: unknown) => ConnectError.from(e),
    );
    assert.equal(err.code, Code.NotFound);
    assert.match(err.rawMessage, /no\.such\.Service/);
  });

  test("Check through buf curl", async () => {
    const r = await buf(["curl", ...grpcFlags(), "-d", '{"service":"order.v1.OrderService"}', `${server.url}/grpc.health.v1.Health/Check`]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { status: "SERVING" });
  });
});

// Watch across a SIGTERM needs its own server: it stops it.
test("Watch: SERVING, then NOT_SERVING on SIGTERM, then the stream ends with UNAVAILABLE", async (t) => {
  const own = await startServerProcess({ args: ["--shutdown-timeout", "5000"] });
  t.after(() => own.cleanup());
  const health = grpcClient(Health, own.url);
  const watch = (service: string) => {
    const seen: Status[] = [];
    let firstSeen!: () => void;
    const first = new Promise<void>((r) => (firstSeen = r));
    const ended = (async () => {
      try {
        for await (const res of health.watch({ service })) {
          seen.push(res.status);
          firstSeen();
        }
        return undefined;
      } catch (err) {
        return ConnectError.from(err);
      }
    })();
    return { seen, first, ended };
  };
  const overall = watch("");
  const orders = watch("order.v1.OrderService");
  await Promise.all([overall.first, orders.first]);
  assert.deepEqual(overall.seen, [Status.SERVING]);
  const exited = own.stop("SIGTERM");
  for (const w of [overall, orders]) {
    const err = await w.ended;
    assert.deepEqual(w.seen, [Status.SERVING, Status.NOT_SERVING]);
    assert.equal(err?.code, Code.Unavailable, `stream ended with ${err?.message ?? "no error"}`);
    assert.match(err!.rawMessage, /shutting down/);
  }
  assert.deepEqual(await exited, { code: 0, signal: null });
});
