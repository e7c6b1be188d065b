// The interop cases that make sense for gRPC-Web and the Connect protocol
// (unary, server streaming, metadata, status, large messages, unimplemented),
// written after grpc's doc/interop-test-descriptions.md, run with
// @connectrpc/connect-node transports over HTTP/2 and HTTP/1.1 against a
// server with --interop, with and without the fast path.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  Code,
  ConnectError,
  createClient,
  decodeBinaryHeader,
  encodeBinaryHeader,
  type Client,
  type Transport,
} from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { TestService, UnimplementedService } from "@switchboard/gen/grpc/testing/test_pb.js";
import { startServerProcess, type ServerProcess } from "@switchboard/test-harness/server-process";

const specialMessage = "\t\ntest with whitespace\r\nand Unicode BMP ☺ and non-BMP 😈\t\n";
const trailingBin = new Uint8Array([0xab, 0xab, 0xab]);
const largeRequest = { responseSize: 314159, payload: { body: new Uint8Array(271828) } };

interface Clients {
  test: Client<typeof TestService>;
  unimplemented: Client<typeof UnimplementedService>;
}

async function failure(p: Promise<unknown>): Promise<ConnectError> {
  try {
    await p;
  } catch (err) {
    return ConnectError.from(err);
  }
  return assert.fail("expected the call to fail");
}

/** Echo metadata request headers and the callbacks that capture the echo. */
function echoMetadata() {
  const seen: { initial?: string | null; trailing?: string | null } = {};
  return {
    seen,
    options: {
      headers: {
        "x-grpc-test-echo-initial": "test_initial_metadata_value",
        "x-grpc-test-echo-trailing-bin": encodeBinaryHeader(trailingBin),
      },
      onHeader: (h: Headers) => (seen.initial = h.get("x-grpc-test-echo-initial")),
      onTrailer: (t: Headers) => (seen.trailing = t.get("x-grpc-test-echo-trailing-bin")),
    },
  };
}

const cases: Record<string, (c: Clients) => Promise<void>> = {
  async empty_unary({ test }) {
    assert.equal((await test.emptyCall({})).$typeName, "grpc.testing.Empty");
  },
  async large_unary({ test }) {
    const res = await test.unaryCall(largeRequest);
    const body = res.payload?.body ?? new Uint8Array(0);
    assert.equal(body.length, 314159);
    assert.ok(body.every((b) => b === 0));
  },
  async server_streaming({ test }) {
    const sizes = [31415, 9, 2653, 58979];
    const got: number[] = [];
    for await (const r of test.streamingOutputCall({ responseParameters: sizes.map((size) => ({ size })) })) {
      got.push(r.payload?.body.length ?? -1);
    }
    assert.deepEqual(got, sizes);
  },
  async custom_metadata({ test }) {
    // 1. UnaryCall (the description's step 2 uses FullDuplexCall; here the
    // server-streaming StreamingOutputCall stands in, as these protocols have
    // no bidi over HTTP/1.1)
    const m1 = echoMetadata();
    const res = await test.unaryCall(largeRequest, m1.options);
    assert.equal(res.payload?.body.length, 314159);
    assert.equal(m1.seen.initial, "test_initial_metadata_value");
    assert.deepEqual(decodeBinaryHeader(m1.seen.trailing ?? ""), trailingBin);
    const m2 = echoMetadata();
    const sizes: number[] = [];
    for await (const r of test.streamingOutputCall({ responseParameters: [{ size: 314159 }] }, m2.options)) {
      sizes.push(r.payload?.body.length ?? -1);
    }
    assert.deepEqual(sizes, [314159]);
    assert.equal(m2.seen.initial, "test_initial_metadata_value");
    assert.deepEqual(decodeBinaryHeader(m2.seen.trailing ?? ""), trailingBin);
  },
  async status_code_and_message({ test }) {
    const responseStatus = { code: 2, message: "test status message" };
    const e = await failure(test.unaryCall({ responseStatus }));
    assert.equal(e.code, Code.Unknown);
    assert.equal(e.rawMessage, "test status message");
    const s = await failure(
      (async () => {
        for await (const _ of test.streamingOutputCall({ responseStatus })) void _;
      })(),
    );
    assert.equal(s.code, Code.Unknown);
    assert.equal(s.rawMessage, "test status message");
  },
  async special_status_message({ test }) {
    const e = await failure(test.unaryCall({ responseStatus: { code: 2, message: specialMessage } }));
    assert.equal(e.code, Code.Unknown);
    assert.equal(e.rawMessage, specialMessage);
  },
  async unimplemented_method({ test }) {
    assert.equal((await failure(test.unimplementedCall({}))).code, Code.Unimplemented);
  },
  async unimplemented_service({ unimplemented }) {
    assert.equal((await failure(unimplemented.unimplementedCall({}))).code, Code.Unimplemented);
  },
};

const transports: Array<{ name: string; make: (baseUrl: string) => Transport }> = [
  { name: "gRPC-Web, HTTP/2", make: (baseUrl) => createGrpcWebTransport({ baseUrl, httpVersion: "2" }) },
  { name: "gRPC-Web, HTTP/1.1", make: (baseUrl) => createGrpcWebTransport({ baseUrl, httpVersion: "1.1" }) },
  {
    name: "Connect binary, HTTP/2",
    make: (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "2", useBinaryFormat: true }),
  },
  {
    name: "Connect binary, HTTP/1.1",
    make: (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: true }),
  },
  { name: "Connect JSON, HTTP/1.1", make: (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "1.1" }) },
];

for (const p of [
  { name: "fast path", args: [] as string[] },
  { name: "connect-node (--no-fast-path)", args: ["--no-fast-path"] },
]) {
  describe(`interop over gRPC-Web and Connect, ${p.name}`, () => {
    let server: ServerProcess;
    before(async () => {
      server = await startServerProcess({ args: ["--interop", "--services", "order", "--no-request-log", ...p.args] });
    });
    after(async () => {
      await server?.cleanup();
    });
    for (const t of transports) {
      for (const [name, run] of Object.entries(cases)) {
        test(`${t.name}: ${name}`, () => {
          const transport = t.make(server.url);
          return run({ test: createClient(TestService, transport), unimplemented: createClient(UnimplementedService, transport) });
        });
      }
    }
  });
}
