import { create, toJson, type JsonObject, type Registry } from "@bufbuild/protobuf";
import { anyPack, AnySchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";

/**
 * HTTP status of a gRPC code, as grpc-gateway maps it
 * (runtime.HTTPStatusFromCode): e.g. NOT_FOUND → 404, INVALID_ARGUMENT,
 * FAILED_PRECONDITION and OUT_OF_RANGE → 400, UNAUTHENTICATED → 401,
 * RESOURCE_EXHAUSTED → 429, CANCELED → 499.
 */
export function httpStatusFromCode(code: Code): number {
  switch (code) {
    case Code.Canceled:
      return 499;
    case Code.InvalidArgument:
    case Code.FailedPrecondition:
    case Code.OutOfRange:
      return 400;
    case Code.DeadlineExceeded:
      return 504;
    case Code.NotFound:
      return 404;
    case Code.AlreadyExists:
    case Code.Aborted:
      return 409;
    case Code.PermissionDenied:
      return 403;
    case Code.Unauthenticated:
      return 401;
    case Code.ResourceExhausted:
      return 429;
    case Code.Unimplemented:
      return 501;
    case Code.Unavailable:
      return 503;
    default:
      return 500; // UNKNOWN, INTERNAL, DATA_LOSS
  }
}

/**
 * The google.rpc.Status JSON of an error, as grpc-gateway writes it:
 * `{code, message, details: [{"@type": …, …}]}`, the details in protobuf JSON
 * (types the registry does not know keep only their "@type").
 */
export function statusJson(err: ConnectError, registry: Registry): JsonObject {
  const details = err.details.map((d) => {
    const any =
      "desc" in d
        ? anyPack(d.desc, create(d.desc, d.value as never))
        : create(AnySchema, { typeUrl: `type.googleapis.com/${d.type}`, value: d.value });
    try {
      const json = toJson(AnySchema, any, { registry, alwaysEmitImplicit: true }) as JsonObject;
      return { "@type": json["@type"] ?? any.typeUrl, ...json }; // "@type" first, as protojson writes it
    } catch {
      return { "@type": any.typeUrl };
    }
  });
  return { code: err.code, message: err.rawMessage, details };
}
