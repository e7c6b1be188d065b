// What the interop cases assert only "if supported by the implementation",
// checked at the HTTP/2 frame level with Node's http2 client: trailers-only
// responses (one HEADERS frame with END_STREAM) for unknown procedures, the
// compressed flag of response messages (response_compressed), the
// percent-encoding of grpc-message — on the fast path and on connect-node —
// and that nothing of grpc.testing is mounted without --interop.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import * as http2 from "node:http2";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import nodePath from "node:path";
import { gunzipSync } from "node:zlib";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  SimpleRequestSchema,
  SimpleResponseSchema,
  StreamingOutputCallRequestSchema,
  StreamingOutputCallResponseSchema,
} from "@switchboard/gen/grpc/testing/messages_pb.js";
import { grpcFrame } from "@switchboard/test-harness/raw-http2";
import { startServerProcess, type ServerProcess } from "@switchboard/test-harness/server-process";

/** One gRPC exchange as frames: whether the first HEADERS ended the stream, the DATA bytes, the trailers. */
interface Exchange {
  headers: http2.IncomingHttpHeaders;
  /** The response HEADERS frame carried END_STREAM (trailers-only). */
  headersEndStream: boolean;
  dataFrames: number;
  body: Buffer;
  trailers: http2.IncomingHttpHeaders | undefined;
}

function exchange(url: string, path: string, body: Uint8Array, headers: http2.OutgoingHttpHeaders = {}): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(url);
    session.on("error", reject);
    const req = session.request({
      ":method": "POST",
      ":path": path,
      "content-type": "application/grpc",
      te: "trailers",
      ...headers,
    });
    const out: Exchange = { headers: {}, headersEndStream: false, dataFrames: 0, body: Buffer.alloc(0), trailers: undefined };
    const chunks: Buffer[] = [];
    req.on("response", (h, flags) => {
      out.headers = h;
      out.headersEndStream = (flags & http2.constants.NGHTTP2_FLAG_END_STREAM) !== 0;
    });
    // Node emits one 'data' per DATA frame with a payload; an empty DATA frame
    // that ends the stream would leave headersEndStream false instead.
    req.on("data", (c: Buffer) => {
      out.dataFrames++;
      chunks.push(c);
    });
    req.on("trailers", (t) => (out.trailers = t));
    req.on("error", reject);
    req.on("close", () => {
      session.close();
      out.body = Buffer.concat(chunks);
      resolve(out);
    });
    req.end(body);
  });
}

/** The length-prefixed messages of a gRPC body: flags, compressed flag, payload. */
function envelopes(body: Buffer): Array<{ flags: number; compressed: boolean; data: Buffer }> {
  const out: Array<{ flags: number; compressed: boolean; data: Buffer }> = [];
  for (let at = 0; at < body.length; ) {
    const size = body.readUInt32BE(at + 1);
    out.push({ flags: body[at]!, compressed: (body[at]! & 1) === 1, data: body.subarray(at + 5, at + 5 + size) });
    at += 5 + size;
  }
  return out;
}

const unimplementedPaths = [
  "/no.such.v1.Service/Method",
  "/grpc.testing.TestService/UnimplementedCall",
  "/grpc.testing.UnimplementedService/UnimplementedCall",
  "/grpc.testing.NoSuchService/Call",
  "/grpc.testing.TestService/NoSuchMethod",
];

const specialMessage = "\t\ntest with whitespace\r\nand Unicode BMP ☺ and non-BMP 😈\t\n";

for (const p of [
  { name: "fast path", args: [] as string[] },
  { name: "connect-node (--no-fast-path)", args: ["--no-fast-path"] },
]) {
  describe(`interop frames, ${p.name}`, () => {
    let server: ServerProcess;
    before(async () => {
      server = await startServerProcess({ args: ["--interop", "--services", "order", "--no-request-log", ...p.args] });
    });
    after(async () => {
      await server?.cleanup();
    });

    for (const path of unimplementedPaths) {
      test(`${path}: UNIMPLEMENTED trailers-only, one HEADERS frame with END_STREAM`, async () => {
        const r = await exchange(server.url, path, grpcFrame(new Uint8Array(0)));
        assert.equal(r.headersEndStream, true, "HEADERS must end the stream");
        assert.equal(r.dataFrames, 0);
        assert.equal(r.trailers, undefined);
        assert.equal(r.headers[":status"], 200);
        assert.equal(r.headers["content-type"], "application/grpc");
        assert.equal(r.headers["grpc-status"], "12");
        assert.equal(decodeURIComponent(String(r.headers["grpc-message"])), `unknown procedure ${path}`);
      });
    }

    test("special_status_message: grpc-message is percent-encoded ASCII that decodes exactly", async () => {
      const req = create(SimpleRequestSchema, { responseStatus: { code: 2, message: specialMessage } });
      const r = await exchange(server.url, "/grpc.testing.TestService/UnaryCall", grpcFrame(toBinary(SimpleRequestSchema, req)));
      const status = r.headersEndStream ? r.headers : r.trailers!;
      assert.equal(status["grpc-status"], "2");
      const raw = String(status["grpc-message"]);
      assert.match(raw, /^[\x20-\x7e]*$/, "only printable ASCII on the wire");
      assert.equal(decodeURIComponent(raw), specialMessage);
    });

    for (const contentType of ["application/grpc", "application/grpc-web+proto"]) {
      test(`server_compressed_unary (${contentType}): the compressed flag follows response_compressed`, async () => {
        for (const value of [true, false]) {
          const req = create(SimpleRequestSchema, { responseCompressed: { value }, responseSize: 314159 });
          const r = await exchange(server.url, "/grpc.testing.TestService/UnaryCall", grpcFrame(toBinary(SimpleRequestSchema, req)), {
            "content-type": contentType,
            "grpc-accept-encoding": "gzip",
          });
          const all = envelopes(r.body);
          // gRPC-Web carries its trailers as a last envelope with flag 0x80
          const trailer = all.find((e) => (e.flags & 0x80) !== 0);
          const status = trailer ? trailer.data.toString() : `grpc-status:${r.trailers?.["grpc-status"]}`;
          assert.match(status, /grpc-status:\s*0/);
          const [env, ...rest] = all.filter((e) => (e.flags & 0x80) === 0);
          assert.equal(rest.length, 0);
          assert.equal(env!.compressed, value, `response_compressed ${value}`);
          if (env!.compressed) assert.equal(r.headers["grpc-encoding"], "gzip");
          const res = fromBinary(SimpleResponseSchema, env!.compressed ? gunzipSync(env!.data) : env!.data);
          assert.equal(res.payload?.body.length, 314159);
        }
      });
    }

    test("server_compressed_streaming: the compressed flag follows each ResponseParameters.compressed", async () => {
      const req = create(StreamingOutputCallRequestSchema, {
        responseParameters: [
          { compressed: { value: true }, size: 31415 },
          { compressed: { value: false }, size: 92653 },
        ],
      });
      const r = await exchange(
        server.url,
        "/grpc.testing.TestService/StreamingOutputCall",
        grpcFrame(toBinary(StreamingOutputCallRequestSchema, req)),
        { "grpc-accept-encoding": "gzip" },
      );
      assert.equal(r.trailers?.["grpc-status"], "0");
      const envs = envelopes(r.body);
      assert.equal(envs.length, 2);
      assert.equal(envs[0]!.compressed, true);
      assert.equal(envs[1]!.compressed, false);
      const sizes = envs.map(
        (e) => fromBinary(StreamingOutputCallResponseSchema, e.compressed ? gunzipSync(e.data) : e.data).payload?.body.length,
      );
      assert.deepEqual(sizes, [31415, 92653]);

      // several uncompressed in a row, then compressed again
      const req2 = create(StreamingOutputCallRequestSchema, {
        responseParameters: [false, false, true, false].map((value, i) => ({ compressed: { value }, size: 2000 + i })),
      });
      const r2 = await exchange(
        server.url,
        "/grpc.testing.TestService/StreamingOutputCall",
        grpcFrame(toBinary(StreamingOutputCallRequestSchema, req2)),
        { "grpc-accept-encoding": "gzip" },
      );
      assert.equal(r2.trailers?.["grpc-status"], "0");
      assert.deepEqual(envelopes(r2.body).map((e) => e.compressed), [false, false, true, false]);
    });

    test("timeout_on_sleeping_server: the server itself ends the call with DEADLINE_EXCEEDED", async () => {
      // grpc-js reports its own deadline; here the client never half-closes and
      // has no deadline timer, so only the server's grpc-timeout handling ends it.
      const r = await new Promise<Exchange>((resolve, reject) => {
        const session = http2.connect(server.url);
        session.on("error", reject);
        const req = session.request({
          ":method": "POST",
          ":path": "/grpc.testing.TestService/FullDuplexCall",
          "content-type": "application/grpc",
          te: "trailers",
          "grpc-timeout": "200m",
        });
        const out: Exchange = { headers: {}, headersEndStream: false, dataFrames: 0, body: Buffer.alloc(0), trailers: undefined };
        req.on("response", (h, flags) => {
          out.headers = h;
          out.headersEndStream = (flags & http2.constants.NGHTTP2_FLAG_END_STREAM) !== 0;
        });
        req.on("data", () => out.dataFrames++);
        req.on("trailers", (t) => (out.trailers = t));
        req.on("error", () => {});
        req.on("close", () => {
          session.close();
          resolve(out);
        });
        const msg = create(StreamingOutputCallRequestSchema, { payload: { body: new Uint8Array(27182) } });
        req.write(grpcFrame(toBinary(StreamingOutputCallRequestSchema, msg)));
      });
      const status = r.headersEndStream ? r.headers : r.trailers;
      assert.equal(status?.["grpc-status"], "4");
      assert.equal(r.dataFrames, 0);
    });

    test("a deadline ends an interval_us sleep: the server sends DEADLINE_EXCEEDED", async () => {
      const req = create(StreamingOutputCallRequestSchema, { responseParameters: [{ size: 1, intervalUs: 30_000_000 }] });
      const r = await exchange(
        server.url,
        "/grpc.testing.TestService/StreamingOutputCall",
        grpcFrame(toBinary(StreamingOutputCallRequestSchema, req)),
        { "grpc-timeout": "200m" },
      );
      const status = r.headersEndStream ? r.headers : r.trailers;
      assert.equal(status?.["grpc-status"], "4");
    });

    test("a payload size above --max-message-bytes is RESOURCE_EXHAUSTED, not an allocation", async () => {
      const req = create(SimpleRequestSchema, { responseSize: 2_000_000_000 });
      const r = await exchange(server.url, "/grpc.testing.TestService/UnaryCall", grpcFrame(toBinary(SimpleRequestSchema, req)));
      const status = r.headersEndStream ? r.headers : r.trailers!;
      assert.equal(status["grpc-status"], "8");
    });
  });
}

describe("without --interop", () => {
  let server: ServerProcess;
  before(async () => {
    server = await startServerProcess({ args: ["--services", "order", "--no-request-log"] });
  });
  after(async () => {
    await server?.cleanup();
  });
  test("grpc.testing.TestService is not mounted", async () => {
    const r = await exchange(server.url, "/grpc.testing.TestService/EmptyCall", grpcFrame(new Uint8Array(0)));
    assert.equal(r.headersEndStream, true);
    assert.equal(r.headers["grpc-status"], "12");
    assert.equal(decodeURIComponent(String(r.headers["grpc-message"])), "unknown procedure /grpc.testing.TestService/EmptyCall");
  });
  test("nghttp -v sees the unknown procedure answered by one HEADERS frame with END_STREAM and no DATA", () => {
    const dir = mkdtempSync(nodePath.join(tmpdir(), "interop-nghttp-"));
    try {
      const body = nodePath.join(dir, "body");
      writeFileSync(body, grpcFrame(new Uint8Array(0)));
      const out = execFileSync(
        "nghttp",
        ["-nv", "-H", ":method: POST", "-H", "content-type: application/grpc", "-H", "te: trailers", "-d", body,
          `${server.url}/grpc.testing.TestService/EmptyCall`],
        { encoding: "utf8", timeout: 20_000 },
      );
      const received = out.split("\n").filter((l) => /recv (HEADERS|DATA) frame/.test(l));
      assert.equal(received.length, 1, out);
      assert.match(received[0]!, /recv HEADERS frame <.*flags=0x05/, "END_STREAM | END_HEADERS");
      assert.match(out, /grpc-status: 12/);
      assert.match(out, /content-type: application\/grpc/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
