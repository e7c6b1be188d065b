import { setTimeout as sleep } from "node:timers/promises";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import type { TestService } from "@switchboard/gen/grpc/testing/test_pb.js";
import {
  PayloadSchema,
  PayloadType,
  type EchoStatus,
  type Payload,
  type ResponseParameters,
  type StreamingOutputCallRequest,
} from "@switchboard/gen/grpc/testing/messages_pb.js";
import { messageCompression, takeRequestCompressed } from "../message-compression.ts";

const echoInitial = "x-grpc-test-echo-initial";
const echoTrailing = "x-grpc-test-echo-trailing-bin";
/** HalfDuplexCall keeps at most this many requests until the half-close. */
const maxBufferedRequests = 10_000;

/**
 * grpc.testing.TestService as grpc's doc/interop-test-descriptions.md
 * ("Server" section) describes it: EmptyCall, UnaryCall, CacheableUnaryCall,
 * StreamingOutputCall, StreamingInputCall, FullDuplexCall, HalfDuplexCall.
 * UnimplementedCall is left out on purpose (the router answers UNIMPLEMENTED).
 * Protocol matters (compression, metadata, status encoding) are the server's
 * job, not this file's: it only states what the test cases ask for.
 *
 * `maxPayloadBytes` bounds requested payload sizes (RESOURCE_EXHAUSTED), so a
 * request cannot make the server allocate gigabytes.
 */
export function testService(maxPayloadBytes: number): Partial<ServiceImpl<typeof TestService>> {
  const payload = (size: number): Payload => {
    if (size < 0) throw new ConnectError(`payload size ${size} is negative`, Code.InvalidArgument);
    if (size > maxPayloadBytes) {
      throw new ConnectError(`payload size ${size} is larger than ${maxPayloadBytes}`, Code.ResourceExhausted);
    }
    return create(PayloadSchema, { type: PayloadType.COMPRESSABLE, body: new Uint8Array(size) });
  };
  const checkType = (t: PayloadType) => {
    if (t !== PayloadType.COMPRESSABLE) throw new ConnectError(`unsupported response_type ${t}`, Code.InvalidArgument);
  };
  // Echo Status: a non-zero code ends the call with that code and message.
  const echoStatus = (s: EchoStatus | undefined) => {
    if (s !== undefined && s.code !== 0) throw new ConnectError(s.message, codeOf(s.code));
  };
  // CompressedRequest: expect_compressed=true and the message was not → INVALID_ARGUMENT.
  const checkCompressed = (ctx: HandlerContext, expect: boolean | undefined) => {
    const compressed = takeRequestCompressed(ctx);
    if (expect === true && !compressed) {
      throw new ConnectError("expected a compressed request message", Code.InvalidArgument);
    }
  };
  // CompressedResponse: the request's wish for the next response messages.
  const wishCompressed = (ctx: HandlerContext, value: boolean | undefined) => {
    const mc = messageCompression(ctx);
    if (mc !== undefined) mc.responseCompressed = value;
  };
  // Observe ResponseParameters.interval_us, then one response per parameter.
  async function* respond(ctx: HandlerContext, params: ResponseParameters[]) {
    for (const p of params) {
      if (p.intervalUs > 0) {
        await sleep(p.intervalUs / 1000, undefined, { signal: ctx.signal }).catch(() => {
          throw ctx.signal.reason; // the deadline's or cancel's ConnectError, not an AbortError
        });
      }
      wishCompressed(ctx, p.compressed?.value);
      yield { payload: payload(p.size) };
    }
  }
  const streamingOutput = (ctx: HandlerContext, req: StreamingOutputCallRequest) => {
    echoStatus(req.responseStatus);
    checkType(req.responseType);
    return respond(ctx, req.responseParameters);
  };

  return {
    emptyCall(_req, ctx) {
      echoMetadata(ctx);
      return {};
    },
    unaryCall(req, ctx) {
      echoMetadata(ctx);
      checkCompressed(ctx, req.expectCompressed?.value);
      echoStatus(req.responseStatus);
      checkType(req.responseType);
      wishCompressed(ctx, req.responseCompressed?.value);
      // fill_username / fill_oauth_scope stay empty: no authentication here.
      return { payload: payload(req.responseSize) };
    },
    cacheableUnaryCall(_req, ctx) {
      echoMetadata(ctx);
      ctx.responseHeader.set("cache-control", "max-age=60, public");
      // "current time with nanosecond resolution", as ASCII decimal
      const now = BigInt(Date.now()) * 1_000_000n + (process.hrtime.bigint() % 1_000_000n);
      return { payload: { type: PayloadType.COMPRESSABLE, body: new TextEncoder().encode(String(now)) } };
    },
    async *streamingOutputCall(req, ctx) {
      echoMetadata(ctx);
      yield* streamingOutput(ctx, req);
    },
    async streamingInputCall(reqs, ctx) {
      echoMetadata(ctx);
      let aggregatedPayloadSize = 0;
      for await (const req of reqs) {
        checkCompressed(ctx, req.expectCompressed?.value);
        aggregatedPayloadSize += req.payload?.body.length ?? 0;
      }
      return { aggregatedPayloadSize };
    },
    async *fullDuplexCall(reqs, ctx) {
      echoMetadata(ctx);
      for await (const req of reqs) yield* streamingOutput(ctx, req);
    },
    async *halfDuplexCall(reqs, ctx) {
      echoMetadata(ctx);
      // Buffered until the half-close, so bounded: at most maxPayloadBytes of
      // request payloads and maxBufferedRequests requests.
      const all: StreamingOutputCallRequest[] = [];
      let buffered = 0;
      for await (const req of reqs) {
        buffered += req.payload?.body.length ?? 0;
        if (buffered > maxPayloadBytes || all.length >= maxBufferedRequests) {
          throw new ConnectError("HalfDuplexCall: too much buffered before the half-close", Code.ResourceExhausted);
        }
        all.push(req);
      }
      for (const req of all) yield* streamingOutput(ctx, req);
    },
  };
}

/** Echo Metadata: the initial value back as a header, the -bin value as a trailer. */
function echoMetadata(ctx: HandlerContext): void {
  const initial = ctx.requestHeader.get(echoInitial);
  if (initial !== null) ctx.responseHeader.set(echoInitial, initial);
  const trailing = ctx.requestHeader.get(echoTrailing);
  if (trailing !== null) ctx.responseTrailer.set(echoTrailing, trailing);
}

/** A status code from the wire (1–16); anything else is UNKNOWN, as gRPC maps unknown codes. */
function codeOf(n: number): Code {
  return Number.isInteger(n) && n >= 1 && n <= 16 ? (n as Code) : Code.Unknown;
}
