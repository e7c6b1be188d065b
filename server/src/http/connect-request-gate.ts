import { fromBinary, fromJsonString } from "@bufbuild/protobuf";
import { base64Decode } from "@bufbuild/protobuf/wire";
import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import { compressionBrotli, compressionGzip } from "@connectrpc/connect-node";

/** The one Connect protocol version there is. */
const supportedVersion = "1";
const decompressors = new Map([
  [compressionGzip.name, compressionGzip],
  [compressionBrotli.name, compressionBrotli],
]);

/**
 * connect-node's `requestGate` (runs once the headers are in, before any body
 * is read), used to give bad client input of the Connect protocol a precise
 * `invalid_argument` where connect-node would answer 500 `internal` or accept
 * it:
 *
 * - `connect-protocol-version` (or the GET parameter `connect`) other than 1
 *   is rejected naming the supported version (connect-node only checks it
 *   with `requireConnectProtocolHeader`, which would also reject curl without
 *   the header).
 * - A Connect GET's `message=` is decoded and parsed here — bad base64 throws a
 *   plain Error in connect-node (→ 500 internal) and bad protobuf is parsed as
 *   a message body (→ internal, the gRPC convention for bodies); in a URL it is
 *   the client's argument, so 400 `invalid_argument`. A GET message is small
 *   (the URL is bounded by the HTTP header limit), so parsing it twice costs
 *   little.
 *
 * `readMaxBytes` bounds a compressed GET message while it is inflated.
 */
export function createConnectRequestGate(readMaxBytes: number): (ctx: HandlerContext) => Promise<void> {
  return async (ctx) => {
    if (ctx.protocolName !== "connect") return;
    if (ctx.requestMethod !== "GET") {
      const v = ctx.requestHeader.get("connect-protocol-version");
      if (v !== null && v !== supportedVersion) {
        throw new ConnectError(
          `unsupported connect-protocol-version "${v}": this server speaks version ${supportedVersion}`,
          Code.InvalidArgument,
        );
      }
      return;
    }
    const params = new URL(ctx.url).searchParams;
    const v = params.get("connect");
    if (v !== null && v !== `v${supportedVersion}`) {
      throw new ConnectError(
        `unsupported connect parameter "${v}": this server speaks version v${supportedVersion}`,
        Code.InvalidArgument,
      );
    }
    const encoding = params.get("encoding");
    if (encoding !== "proto" && encoding !== "json") return; // connect-node answers 415
    const compression = params.get("compression");
    const decompressor = compression === null || compression === "identity" ? undefined : decompressors.get(compression);
    if (compression !== null && compression !== "identity" && decompressor === undefined) return; // connect-node's error
    const text = params.get("message") ?? "";
    let bytes: Uint8Array;
    if (params.get("base64") === "1") {
      if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(text)) {
        throw new ConnectError("invalid message parameter: not base64 (base64=1)", Code.InvalidArgument);
      }
      try {
        bytes = base64Decode(text);
      } catch {
        throw new ConnectError("invalid message parameter: not base64 (base64=1)", Code.InvalidArgument);
      }
    } else {
      bytes = new TextEncoder().encode(text);
    }
    if (decompressor !== undefined) {
      try {
        bytes = await decompressor.decompress(bytes, readMaxBytes);
      } catch (err) {
        throw ConnectError.from(err, Code.InvalidArgument);
      }
    }
    try {
      if (encoding === "proto") fromBinary(ctx.method.input, bytes);
      else fromJsonString(ctx.method.input, new TextDecoder("utf-8", { fatal: true }).decode(bytes));
    } catch (err) {
      throw new ConnectError(
        `invalid message parameter: cannot decode ${ctx.method.input.typeName} from ${encoding === "proto" ? "binary" : "JSON"}: ${(err as Error).message}`,
        Code.InvalidArgument,
      );
    }
  };
}
