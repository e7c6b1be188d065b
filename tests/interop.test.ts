// The gRPC interop client test cases (grpc's doc/interop-test-descriptions.md,
// every case that needs no credentials), run against a real server started
// with --interop, once through the fast path and once through stock
// connect-node (--no-fast-path). The client is independent of our generated
// code: @grpc/grpc-js with @grpc/proto-loader loading proto/grpc/testing/.
// Written after the descriptions: each case sends what its "Procedure" says
// and asserts what its "Client asserts" says.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { eventually } from "@switchboard/test-harness/eventually";
import { repoRoot, startServerProcess, type ServerProcess } from "@switchboard/test-harness/server-process";

const loaderOptions: protoLoader.Options = { includeDirs: [path.join(repoRoot, "proto")], defaults: true };
const zeros = (n: number) => Buffer.alloc(n);
const trailingBin = Buffer.from([0xab, 0xab, 0xab]);
const specialMessage = "\t\ntest with whitespace\r\nand Unicode BMP ☺ and non-BMP 😈\t\n";

interface Payload { body: Buffer }
interface SimpleResponse { payload: Payload | null; username: string; oauthScope: string }
type Cb<T> = (err: grpc.ServiceError | null, res: T) => void;
/** grpc.testing.TestService as @grpc/grpc-js presents it (only what the cases use). */
interface TestServiceClient extends grpc.Client {
  emptyCall(req: object, cb: Cb<object>): grpc.ClientUnaryCall;
  unaryCall(req: object, md: grpc.Metadata, cb: Cb<SimpleResponse>): grpc.ClientUnaryCall;
  streamingOutputCall(req: object, opts?: grpc.CallOptions): grpc.ClientReadableStream<{ payload: Payload }>;
  streamingInputCall(cb: Cb<{ aggregatedPayloadSize: number }>): grpc.ClientWritableStream<object>;
  fullDuplexCall(md?: grpc.Metadata, opts?: grpc.CallOptions): grpc.ClientDuplexStream<object, { payload: Payload }>;
  unimplementedCall(req: object, cb: Cb<object>): grpc.ClientUnaryCall;
  halfDuplexCall(): grpc.ClientDuplexStream<object, { payload: Payload }>;
}
interface UnimplementedServiceClient extends grpc.Client {
  unimplementedCall(req: object, cb: Cb<object>): grpc.ClientUnaryCall;
}
type ClientCtor<T> = new (addr: string, creds: grpc.ChannelCredentials, opts?: grpc.ChannelOptions) => T;
const pkg = grpc.loadPackageDefinition(protoLoader.loadSync("grpc/testing/test.proto", loaderOptions)) as unknown as {
  grpc: { testing: { TestService: ClientCtor<TestServiceClient>; UnimplementedService: ClientCtor<UnimplementedServiceClient> } };
};

/** The clients one run of the cases uses. */
interface Clients {
  /** No compression. */
  plain: TestServiceClient;
  /** Sends gzip-compressed messages (grpc.default_compression_algorithm = gzip). */
  gzip: TestServiceClient;
  unimplemented: UnimplementedServiceClient;
  /** The server's request log (one line per RPC), to see what the server saw. */
  server: ServerProcess;
}

/** Waits for the server to log an RPC of `method` that ended with one of `codes` (e.g. "Canceled"). */
function serverLogged(server: ServerProcess, method: string, codes: string[], since: number): Promise<unknown> {
  return eventually(
    () =>
      server.logs
        .slice(since)
        .find((l) => l.msg === "rpc" && l.method === `grpc.testing.TestService/${method}` && codes.includes(String(l.code))),
    15_000,
    `server log: ${method} ${codes.join("|")}`,
  );
}

function unary<T>(start: (cb: Cb<T>) => grpc.ClientUnaryCall): Promise<T> {
  return new Promise((resolve, reject) => start((err, res) => (err ? reject(err) : resolve(res))));
}

async function failure(p: Promise<unknown>): Promise<grpc.ServiceError> {
  try {
    await p;
  } catch (err) {
    return err as grpc.ServiceError;
  }
  return assert.fail("expected the call to fail");
}

/** All responses of a readable stream and how it ended. */
function collect<T>(call: grpc.ClientReadableStream<T> | grpc.ClientDuplexStream<object, T>): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const out: T[] = [];
    call.on("data", (m: T) => out.push(m));
    call.on("error", reject);
    call.on("end", () => resolve(out));
  });
}

/** Sends each request after the previous reply (ping_pong); returns the replies. */
async function pingPong(call: grpc.ClientDuplexStream<object, { payload: Payload }>, reqs: object[]) {
  const replies: Array<{ payload: Payload }> = [];
  const it = call[Symbol.asyncIterator]() as AsyncIterator<{ payload: Payload }>;
  for (const req of reqs) {
    call.write(req);
    const r = await it.next();
    assert.equal(r.done, false, "a reply for every request");
    replies.push(r.value);
  }
  call.end();
  assert.equal((await it.next()).done, true, "no reply after the half-close");
  return replies;
}

/** Resolves with the call's final status. */
function statusOf(call: grpc.Call): Promise<grpc.StatusObject> {
  return new Promise((resolve) => call.on("status", resolve));
}

const largeRequest = { responseSize: 314159, payload: { body: zeros(271828) } };

/** Every non-auth interop client case, by its name in the test descriptions. */
const cases: Record<string, (c: Clients) => Promise<void>> = {
  async empty_unary({ plain }) {
    const res = await unary((cb) => plain.emptyCall({}, cb));
    assert.notEqual(res, null);
    assert.deepEqual(res, {});
  },

  async large_unary({ plain }) {
    const res = await unary<SimpleResponse>((cb) => plain.unaryCall(largeRequest, new grpc.Metadata(), cb));
    assert.deepEqual(res.payload?.body, zeros(314159));
  },

  async client_compressed_unary({ plain, gzip }) {
    const req = (expect: boolean) => ({ expectCompressed: { value: expect }, ...largeRequest });
    // 1. the probe: uncompressed but expect_compressed → INVALID_ARGUMENT
    const probe = await failure(unary((cb) => plain.unaryCall(req(true), new grpc.Metadata(), cb)));
    assert.equal(probe.code, grpc.status.INVALID_ARGUMENT, probe.message);
    // 2. compressed, expected so
    const res2 = await unary<SimpleResponse>((cb) => gzip.unaryCall(req(true), new grpc.Metadata(), cb));
    assert.equal(res2.payload?.body.length, 314159);
    assert.deepEqual(res2.payload?.body, zeros(314159));
    // 3. uncompressed, expected so
    const res3 = await unary<SimpleResponse>((cb) => plain.unaryCall(req(false), new grpc.Metadata(), cb));
    assert.deepEqual(res3.payload?.body, zeros(314159));
  },

  async server_compressed_unary({ plain }) {
    // grpc-js does not expose the compressed flag; the frame-level test below checks it.
    for (const value of [true, false]) {
      const req = { responseCompressed: { value }, ...largeRequest };
      const res = await unary<SimpleResponse>((cb) => plain.unaryCall(req, new grpc.Metadata(), cb));
      assert.deepEqual(res.payload?.body, zeros(314159), `response_compressed ${value}`);
    }
  },

  async client_streaming({ plain }) {
    const res = await new Promise<{ aggregatedPayloadSize: number }>((resolve, reject) => {
      const call = plain.streamingInputCall((err, r) => (err ? reject(err) : resolve(r)));
      for (const n of [27182, 8, 1828, 45904]) call.write({ payload: { body: zeros(n) } });
      call.end();
    });
    assert.equal(res.aggregatedPayloadSize, 74922);
  },

  async client_compressed_streaming({ plain, gzip }) {
    // 1. the probe: uncompressed but expect_compressed → INVALID_ARGUMENT
    const probe = await failure(
      new Promise((resolve, reject) => {
        const call = plain.streamingInputCall((err, res) => (err ? reject(err) : resolve(res)));
        call.write({ expectCompressed: { value: true }, payload: { body: zeros(27182) } });
        call.end();
      }),
    );
    assert.equal(probe.code, grpc.status.INVALID_ARGUMENT, probe.message);
    // 2. one call: a compressed message, then one sent without compression
    const res = await new Promise<{ aggregatedPayloadSize: number }>((resolve, reject) => {
      const call = gzip.streamingInputCall((err, r) => (err ? reject(err) : resolve(r)));
      call.write({ expectCompressed: { value: true }, payload: { body: zeros(27182) } });
      // grpc-js takes write flags in the encoding argument; 2 = WriteFlags.NoCompress
      call.write({ expectCompressed: { value: false }, payload: { body: zeros(45904) } }, 2 as unknown as string);
      call.end();
    });
    assert.equal(res.aggregatedPayloadSize, 73086);
  },

  async server_streaming({ plain }) {
    const sizes = [31415, 9, 2653, 58979];
    const res = await collect(plain.streamingOutputCall({ responseParameters: sizes.map((size) => ({ size })) }));
    assert.deepEqual(res.map((r) => r.payload.body.length), sizes);
    for (const r of res) assert.ok(r.payload.body.every((b) => b === 0));
  },

  async server_compressed_streaming({ plain }) {
    const res = await collect(
      plain.streamingOutputCall({
        responseParameters: [
          { compressed: { value: true }, size: 31415 },
          { compressed: { value: false }, size: 92653 },
        ],
      }),
    );
    assert.deepEqual(res.map((r) => r.payload.body.length), [31415, 92653]);
  },

  async ping_pong({ plain }) {
    const steps: Array<[number, number]> = [[31415, 27182], [9, 8], [2653, 1828], [58979, 45904]];
    const replies = await pingPong(
      plain.fullDuplexCall(),
      steps.map(([size, body]) => ({ responseParameters: [{ size }], payload: { body: zeros(body) } })),
    );
    assert.deepEqual(replies.map((r) => r.payload.body.length), steps.map(([size]) => size));
  },

  async empty_stream({ plain }) {
    const call = plain.fullDuplexCall();
    const done = collect(call);
    call.end();
    assert.deepEqual(await done, []);
  },

  async timeout_on_sleeping_server({ plain }) {
    const call = plain.fullDuplexCall(new grpc.Metadata(), { deadline: Date.now() + 1 });
    const status = statusOf(call);
    call.on("error", () => {});
    call.on("data", () => {});
    call.write({ payload: { body: zeros(27182) } });
    assert.equal((await status).code, grpc.status.DEADLINE_EXCEEDED);
  },

  async cancel_after_begin({ plain }) {
    const err = await failure(
      new Promise((resolve, reject) => {
        const call = plain.streamingInputCall((e, r) => (e ? reject(e) : resolve(r)));
        call.cancel();
      }),
    );
    assert.equal(err.code, grpc.status.CANCELLED);
  },

  async cancel_after_first_response({ plain, server }) {
    const since = server.logs.length;
    const call = plain.fullDuplexCall();
    const status = statusOf(call);
    call.on("error", () => {});
    const first = new Promise((resolve) => call.once("data", resolve));
    call.write({ responseParameters: [{ size: 31415 }], payload: { body: zeros(27182) } });
    await first;
    call.cancel();
    assert.equal((await status).code, grpc.status.CANCELLED);
    // and the server ended the call (no handler left waiting). Its code may be
    // OK: Node's http2 client half-closes before it sends RST_STREAM, so the
    // implementation can see a normal end of the request stream first.
    await serverLogged(server, "FullDuplexCall", ["Canceled", "OK"], since);
  },

  async custom_metadata({ plain }) {
    const md = () => {
      const m = new grpc.Metadata();
      m.set("x-grpc-test-echo-initial", "test_initial_metadata_value");
      m.set("x-grpc-test-echo-trailing-bin", trailingBin);
      return m;
    };
    const check = (initial: grpc.Metadata, trailing: grpc.Metadata, step: string) => {
      assert.deepEqual(initial.get("x-grpc-test-echo-initial"), ["test_initial_metadata_value"], step);
      assert.deepEqual(trailing.get("x-grpc-test-echo-trailing-bin"), [trailingBin], step);
    };
    // 1. UnaryCall
    let call1!: grpc.ClientUnaryCall;
    const initial1 = new Promise<grpc.Metadata>((resolve) => {
      const p = unary<SimpleResponse>((cb) => (call1 = plain.unaryCall(largeRequest, md(), cb)));
      call1.on("metadata", resolve);
      void p.catch(() => {});
    });
    const status1 = await statusOf(call1);
    assert.equal(status1.code, grpc.status.OK, status1.details);
    check(await initial1, status1.metadata, "UnaryCall");
    // 2. FullDuplexCall, then half-close
    const call2 = plain.fullDuplexCall(md());
    const initial2 = new Promise<grpc.Metadata>((resolve) => call2.on("metadata", resolve));
    const status2 = statusOf(call2);
    const done = collect(call2);
    call2.write({ responseParameters: [{ size: 314159 }], payload: { body: zeros(271828) } });
    call2.end();
    const replies = await done;
    assert.deepEqual(replies.map((r) => r.payload.body.length), [314159]);
    const s2 = await status2;
    assert.equal(s2.code, grpc.status.OK, s2.details);
    check(await initial2, s2.metadata, "FullDuplexCall");
  },

  async status_code_and_message({ plain }) {
    const responseStatus = { code: 2, message: "test status message" };
    const e1 = await failure(unary((cb) => plain.unaryCall({ responseStatus }, new grpc.Metadata(), cb)));
    assert.equal(e1.code, 2);
    assert.equal(e1.details, "test status message");
    const call = plain.fullDuplexCall();
    const status = statusOf(call);
    call.on("error", () => {});
    call.on("data", () => {});
    call.write({ responseStatus });
    call.end();
    const s = await status;
    assert.equal(s.code, 2);
    assert.equal(s.details, "test status message");
  },

  async special_status_message({ plain }) {
    const responseStatus = { code: 2, message: specialMessage };
    const e = await failure(unary((cb) => plain.unaryCall({ responseStatus }, new grpc.Metadata(), cb)));
    assert.equal(e.code, 2);
    assert.equal(e.details, specialMessage);
  },

  async unimplemented_method({ plain }) {
    const e = await failure(unary((cb) => plain.unimplementedCall({}, cb)));
    assert.equal(e.code, grpc.status.UNIMPLEMENTED);
  },

  async unimplemented_service({ unimplemented }) {
    const e = await failure(unary((cb) => unimplemented.unimplementedCall({}, cb)));
    assert.equal(e.code, grpc.status.UNIMPLEMENTED);
  },
};

const paths = [
  { name: "fast path", args: [] as string[] },
  { name: "connect-node (--no-fast-path)", args: ["--no-fast-path"] },
];

for (const p of paths) {
  describe(`gRPC interop over h2c, ${p.name}`, () => {
    let server: ServerProcess;
    let clients: Clients;
    before(async () => {
      server = await startServerProcess({ args: ["--interop", "--services", "order", ...p.args] });
      const addr = `127.0.0.1:${server.port}`;
      const creds = grpc.credentials.createInsecure();
      const { TestService, UnimplementedService } = pkg.grpc.testing;
      clients = {
        plain: new TestService(addr, creds),
        gzip: new TestService(addr, creds, { "grpc.default_compression_algorithm": grpc.compressionAlgorithms.gzip }),
        unimplemented: new UnimplementedService(addr, creds),
        server,
      };
    });
    after(async () => {
      for (const c of [clients?.plain, clients?.gzip, clients?.unimplemented]) c?.close();
      await server?.cleanup();
    });
    for (const [name, run] of Object.entries(cases)) test(name, () => run(clients));

    // Server features the client cases above do not reach.
    test("server feature: ResponseParameters.interval_us delays each response", async () => {
      const started = performance.now();
      const res = await collect(
        clients.plain.streamingOutputCall({ responseParameters: [1, 2, 3].map((size) => ({ size, intervalUs: 60_000 })) }),
      );
      assert.deepEqual(res.map((r) => r.payload.body.length), [1, 2, 3]);
      // a lower bound only: the server slept 3 × 60 ms before its responses
      assert.ok(performance.now() - started >= 170, "the intervals accumulate");
    });
    test("server feature: a deadline ends an interval_us sleep", async () => {
      const since = server.logs.length;
      const call = clients.plain.streamingOutputCall(
        { responseParameters: [{ size: 1, intervalUs: 30_000_000 }] },
        { deadline: Date.now() + 300 },
      );
      const err = await failure(collect(call));
      assert.equal(err.code, grpc.status.DEADLINE_EXCEEDED);
      // The server's handler ended long before its 30 s sleep: grpc-js resets the
      // stream at its own deadline, which can reach the server before the
      // server's timer fires, so either code is right.
      const line = (await serverLogged(server, "StreamingOutputCall", ["DeadlineExceeded", "Canceled"], since)) as { ms: number };
      assert.ok(line.ms < 10_000, `handler ended after ${line.ms} ms`);
    });
    test("server feature: HalfDuplexCall answers every request after the half-close, in order", async () => {
      const call = clients.plain.halfDuplexCall();
      const replies: number[] = [];
      call.on("data", (r: { payload: Payload }) => replies.push(r.payload.body.length));
      const done = new Promise<void>((resolve, reject) => {
        call.on("error", reject);
        call.on("end", resolve);
      });
      call.write({ responseParameters: [{ size: 3 }, { size: 4 }] });
      call.write({ responseParameters: [{ size: 5 }] });
      // nothing before the half-close: the server buffers the requests
      await new Promise((r) => setTimeout(r, 100));
      assert.deepEqual(replies, []);
      call.end();
      await done;
      assert.deepEqual(replies, [3, 4, 5]);
    });
    test("server feature: fill_username / fill_oauth_scope stay empty (no authentication)", async () => {
      const req = { fillUsername: true, fillOauthScope: true, responseSize: 1 };
      const res = await unary<SimpleResponse>((cb) => clients.plain.unaryCall(req, new grpc.Metadata(), cb));
      assert.equal(res.username, "");
      assert.equal(res.oauthScope, "");
      assert.equal(res.payload?.body.length, 1);
    });
  });
}
