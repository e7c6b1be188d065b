import {
  createRegistry,
  type MessageInitShape,
  toBinary,
  type DescFile,
  type DescService,
  type Registry,
} from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Code, type ConnectRouter } from "@connectrpc/connect";
import { untilAborted } from "../abortable.ts";
import * as v1 from "@switchboard/gen/grpc/reflection/v1/reflection_pb.js";
import * as v1alpha from "@switchboard/gen/grpc/reflection/v1alpha/reflection_pb.js";

/**
 * gRPC server reflection, v1 and v1alpha, answered from the descriptors
 * embedded in the generated code (well-known types included).
 *
 * Written by hand because connect-es ships no reflection service (connect-go
 * has grpcreflect; the npm reflection packages target @grpc/grpc-js). The two
 * versions share one message layout, so one function answers both.
 */
export function registerReflection(
  router: ConnectRouter,
  files: readonly DescFile[],
  services: () => DescService[],
): void {
  const registry = new FileIndex(files);
  router.service(v1.ServerReflection, {
    serverReflectionInfo: (reqs, ctx) => answer(untilAborted(reqs, ctx.signal), registry, services),
  });
  router.service(v1alpha.ServerReflection, {
    serverReflectionInfo: (reqs, ctx) =>
      answer(untilAborted(reqs, ctx.signal), registry, services) as AsyncIterable<
        MessageInitShape<typeof v1alpha.ServerReflectionResponseSchema>
      >,
  });
}

type Request = v1.ServerReflectionRequest | v1alpha.ServerReflectionRequest;
// v1 and v1alpha responses have the same fields; answers are plain init
// objects (no $typeName), so one shape serves both versions.
type ResponseInit = MessageInitShape<typeof v1.ServerReflectionResponseSchema>;
type Answer = NonNullable<MessageInitShape<typeof v1.ServerReflectionResponseSchema>["messageResponse"]>;

async function* answer(
  requests: AsyncIterable<Request>,
  registry: FileIndex,
  services: () => DescService[],
): AsyncIterable<ResponseInit> {
  // Files already sent on this stream are not sent again (like grpc-go).
  const sent = new Set<string>();
  for await (const req of requests) {
    yield {
      validHost: req.host,
      originalRequest: req as v1.ServerReflectionRequest,
      messageResponse: respond(req, registry, services, sent),
    };
  }
}

function respond(
  req: Request,
  registry: FileIndex,
  services: () => DescService[],
  sent: Set<string>,
): Answer {
  const r = req.messageRequest;
  const files = (file: DescFile | undefined, what: string): Answer => {
    if (!file) return notFound(what);
    return {
      case: "fileDescriptorResponse",
      value: {
        fileDescriptorProto: withDependencies(file, sent).map((f) =>
          toBinary(FileDescriptorProtoSchema, f.proto),
        ),
      },
    };
  };
  switch (r.case) {
    case "listServices":
      return {
        case: "listServicesResponse",
        value: {
          service: services()
            .map((s) => s.typeName)
            .sort()
            .map((name) => ({ name })),
        },
      };
    case "fileByFilename":
      return files(registry.getFile(r.value), `file "${r.value}"`);
    case "fileContainingSymbol":
      return files(fileOfSymbol(registry, r.value), `symbol "${r.value}"`);
    case "fileContainingExtension": {
      const msg = registry.getMessage(r.value.containingType);
      const ext = msg ? registry.getExtensionFor(msg, r.value.extensionNumber) : undefined;
      return files(ext?.file, `extension ${r.value.extensionNumber} of "${r.value.containingType}"`);
    }
    case "allExtensionNumbersOfType": {
      const msg = registry.getMessage(r.value);
      if (!msg) return notFound(`type "${r.value}"`);
      const numbers: number[] = [];
      for (const t of registry) {
        if (t.kind === "extension" && t.extendee.typeName === msg.typeName) numbers.push(t.number);
      }
      return {
        case: "allExtensionNumbersResponse",
        value: {
          baseTypeName: msg.typeName,
          extensionNumber: numbers.sort((a, b) => a - b),
        },
      };
    }
    default:
      return {
        case: "errorResponse",
        value: {
          errorCode: Code.InvalidArgument,
          errorMessage: "empty or unknown reflection request",
        },
      };
  }
}

function notFound(what: string): Answer {
  return {
    case: "errorResponse",
    value: {
      errorCode: Code.NotFound,
      errorMessage: `${what} not found`,
    },
  };
}

/** The file of a message, enum, service, method, field, enum value or extension. */
function fileOfSymbol(registry: FileIndex, symbol: string): DescFile | undefined {
  const direct = registry.get(symbol);
  if (direct) return direct.file;
  // A member: pkg.Service.Method, pkg.Message.field, pkg.Enum.VALUE.
  const dot = symbol.lastIndexOf(".");
  if (dot < 0) return undefined;
  const parent = registry.get(symbol.slice(0, dot));
  const member = symbol.slice(dot + 1);
  switch (parent?.kind) {
    case "service":
      return parent.methods.some((m) => m.name === member) ? parent.file : undefined;
    case "message":
      return parent.fields.some((f) => f.name === member) ||
        parent.oneofs.some((o) => o.name === member)
        ? parent.file
        : undefined;
    case "enum":
      return parent.values.some((v) => v.name === member) ? parent.file : undefined;
    default:
      // An enum value is also scoped next to its enum: pkg.VALUE.
      for (const t of registry) {
        if (t.kind === "enum" && t.values.some((v) => `${t.typeName.slice(0, t.typeName.length - t.name.length)}${v.name}` === symbol)) {
          return t.file;
        }
      }
      return undefined;
  }
}

/**
 * `file` (always, since it was asked for) and the files it depends on,
 * transitively, minus dependencies already sent on this stream.
 */
function withDependencies(file: DescFile, sent: Set<string>): DescFile[] {
  const out: DescFile[] = [];
  const visit = (f: DescFile, asked: boolean) => {
    if (!asked && sent.has(f.proto.name)) return;
    if (out.includes(f)) return;
    sent.add(f.proto.name);
    out.push(f);
    for (const d of f.dependencies) visit(d, false);
  };
  visit(file, true);
  return out;
}

/** Files by name (with their imports, transitively) and the types they define. */
class FileIndex {
  readonly #files = new Map<string, DescFile>();
  readonly #types: Registry;

  constructor(roots: readonly DescFile[]) {
    const visit = (f: DescFile) => {
      if (this.#files.has(f.proto.name)) return;
      this.#files.set(f.proto.name, f);
      f.dependencies.forEach(visit);
    };
    roots.forEach(visit);
    this.#types = createRegistry(...this.#files.values());
  }

  getFile(name: string): DescFile | undefined {
    return this.#files.get(name);
  }
  get(typeName: string) {
    return this.#types.get(typeName);
  }
  getMessage(typeName: string) {
    return this.#types.getMessage(typeName);
  }
  getExtensionFor(...args: Parameters<Registry["getExtensionFor"]>) {
    return this.#types.getExtensionFor(...args);
  }
  [Symbol.iterator]() {
    return this.#types[Symbol.iterator]();
  }
}
