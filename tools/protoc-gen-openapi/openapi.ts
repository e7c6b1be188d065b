import { ScalarType, type DescEnum, type DescField, type DescFile, type DescMessage, type DescMethod } from "@bufbuild/protobuf";
import { getComments } from "@bufbuild/protoplugin";
import { findHttpExtension, httpBindings, type HttpBinding } from "@switchboard/server/rest/http-rules";
import { openApiPath, parsePathTemplate } from "@switchboard/server/rest/path-template";

type Schema = Record<string, unknown>;

/**
 * The OpenAPI 3.1 document of every google.api.http binding of `files`:
 * one operation per binding (path and query parameters, JSON request body,
 * the JSON response, or NDJSON lines for server-streaming methods), the
 * google.rpc.Status error body, and a schema per message in protobuf JSON
 * (lowerCamelCase names, 64-bit integers as strings, enums by name).
 */
export function buildOpenApi(files: readonly DescFile[], allFiles: readonly DescFile[]): Schema {
  const http = findHttpExtension(allFiles);
  const schemas: Record<string, Schema> = { "google.rpc.Status": statusSchema };
  const pending: DescMessage[] = [];
  const ref = (m: DescMessage): Schema => {
    if (!(m.typeName in schemas)) {
      schemas[m.typeName] = {}; // placeholder: recursion-safe
      pending.push(m);
    }
    return { $ref: `#/components/schemas/${m.typeName}` };
  };
  const paths: Record<string, Record<string, unknown>> = {};
  const tags: Schema[] = [];
  for (const file of files) {
    for (const service of file.services) {
      const bindings = http ? service.methods.flatMap((m) => httpBindings(m, http)) : [];
      if (bindings.length === 0) continue;
      tags.push({ name: service.typeName, description: text(getComments(service).leading) });
      const used = new Map<DescMethod, number>();
      for (const b of bindings) {
        const n = used.get(b.method) ?? 0;
        used.set(b.method, n + 1);
        const t = parsePathTemplate(b.path);
        const path = openApiPath(t);
        (paths[path] ??= {})[b.verb.toLowerCase()] = operation(b, n, t.variables.map((v) => v.fieldPath), ref);
      }
    }
  }
  for (let m = pending.shift(); m !== undefined; m = pending.shift()) schemas[m.typeName] = messageSchema(m, ref);
  return {
    openapi: "3.1.0",
    info: {
      title: "Switchboard REST API",
      version: "v1",
      description:
        "REST/JSON routes transcoded from the google.api.http rules of the Switchboard contracts. " +
        "Bodies are protobuf JSON (the Connect protocol's field names); errors are google.rpc.Status; " +
        "server-streaming routes answer newline-delimited JSON, one {\"result\": …} per message " +
        "(or a final {\"error\": …}).",
    },
    tags,
    security: [{}, { bearerAuth: [] }],
    paths,
    components: {
      schemas: Object.fromEntries(Object.entries(schemas).sort(([a], [b]) => a.localeCompare(b))),
      securitySchemes: {
        bearerAuth: { type: "http", scheme: "bearer", description: "The server's --auth-token; needed by calls that change tasks." },
      },
    },
  };
}

function operation(b: HttpBinding, index: number, pathFields: string[], ref: (m: DescMessage) => Schema): Schema {
  const m = b.method;
  const comments = text(getComments(m).leading);
  const input = m.input;
  const parameters: Schema[] = pathFields.map((fp) => ({
    name: fp,
    in: "path",
    required: true,
    schema: fieldAt(input, fp) ? fieldSchema(fieldAt(input, fp)!, ref, true) : { type: "string" },
  }));
  if (b.body !== "*") {
    const skip = new Set([...pathFields, ...(b.body ? [b.body] : [])]);
    for (const q of queryParams(input, "", skip, 0)) {
      parameters.push({
        name: q.name,
        in: "query",
        required: false,
        description: text(getComments(q.field).leading),
        schema: q.field.fieldKind === "list" ? { type: "array", items: fieldSchema(q.field, ref, true) } : fieldSchema(q.field, ref, true),
        ...(q.field.fieldKind === "list" ? { style: "form", explode: true } : {}),
        // Map entries as "labels[zone]=eu".
        ...(q.field.fieldKind === "map" ? { style: "deepObject", explode: true } : {}),
      });
    }
  }
  const op: Schema = {
    operationId: `${m.parent.name}_${m.name}${index > 0 ? `_${index + 1}` : ""}`,
    summary: comments.split("\n")[0],
    description: comments,
    tags: [m.parent.typeName],
    parameters,
  };
  if (b.body !== "") {
    const bodyField = b.body === "*" ? undefined : input.fields.find((f) => f.name === b.body);
    op.requestBody = {
      required: true,
      content: { "application/json": { schema: bodyField ? fieldSchema(bodyField, ref, false) : ref(input) } },
    };
  }
  const outField = b.responseBody ? m.output.fields.find((f) => f.name === b.responseBody) : undefined;
  const out = outField ? fieldSchema(outField, ref, false) : ref(m.output);
  const ok =
    m.methodKind === "server_streaming"
      ? {
          description: "Newline-delimited JSON: one line per message, flushed as it is sent; an error after the first message arrives as a last {\"error\": Status} line.",
          content: {
            "application/x-ndjson": {
              schema: {
                type: "object",
                properties: { result: out, error: { $ref: "#/components/schemas/google.rpc.Status" } },
              },
            },
          },
        }
      : { description: "OK", content: { "application/json": { schema: out } } };
  op.responses = {
    "200": ok,
    default: {
      description: "An error: HTTP status from the gRPC code (as grpc-gateway maps it), body a google.rpc.Status.",
      content: { "application/json": { schema: { $ref: "#/components/schemas/google.rpc.Status" } } },
    },
  };
  return op;
}

/** The query parameters of a message: scalar, enum and repeated fields, nested messages by dotted path. */
function queryParams(msg: DescMessage, prefix: string, skip: Set<string>, depth: number): { name: string; field: DescField }[] {
  const out: { name: string; field: DescField }[] = [];
  for (const f of msg.fields) {
    const name = prefix + f.name;
    if (skip.has(name)) continue;
    if (f.fieldKind === "scalar" || f.fieldKind === "enum") out.push({ name, field: f });
    else if (f.fieldKind === "list" && f.listKind !== "message") out.push({ name, field: f });
    else if (f.fieldKind === "map" && f.mapKind !== "message") out.push({ name, field: f });
    else if (f.fieldKind === "message" && wkt[f.message.typeName]) out.push({ name, field: f });
    else if (f.fieldKind === "message" && depth < 3) out.push(...queryParams(f.message, `${name}.`, skip, depth + 1));
  }
  return out;
}

function fieldAt(msg: DescMessage, path: string): DescField | undefined {
  let cur: DescMessage | undefined = msg;
  let field: DescField | undefined;
  for (const part of path.split(".")) {
    field = cur?.fields.find((f) => f.name === part);
    if (field === undefined) return undefined;
    cur = field.fieldKind === "message" ? field.message : undefined;
  }
  return field;
}

function messageSchema(m: DescMessage, ref: (m: DescMessage) => Schema): Schema {
  const properties: Record<string, Schema> = {};
  for (const f of m.fields) {
    properties[f.jsonName] = { ...fieldSchema(f, ref, false), description: text(getComments(f).leading) };
  }
  return { type: "object", description: text(getComments(m).leading), properties };
}

/** A field's JSON schema; `element` gives a list's item schema instead of the array. */
function fieldSchema(f: DescField, ref: (m: DescMessage) => Schema, element: boolean): Schema {
  switch (f.fieldKind) {
    case "scalar":
      return scalarSchema(f.scalar);
    case "enum":
      return enumSchema(f.enum);
    case "message":
      return messageRef(f.message, ref);
    case "list": {
      const item =
        f.listKind === "scalar" ? scalarSchema(f.scalar) : f.listKind === "enum" ? enumSchema(f.enum) : messageRef(f.message, ref);
      return element ? item : { type: "array", items: item };
    }
    case "map": {
      const value =
        f.mapKind === "scalar" ? scalarSchema(f.scalar) : f.mapKind === "enum" ? enumSchema(f.enum) : messageRef(f.message, ref);
      return { type: "object", additionalProperties: value };
    }
  }
}

function messageRef(m: DescMessage, ref: (m: DescMessage) => Schema): Schema {
  return wkt[m.typeName] ?? ref(m);
}

/** The well-known types have their own JSON forms. */
const wkt: Record<string, Schema> = {
  "google.protobuf.Timestamp": { type: "string", format: "date-time" },
  "google.protobuf.Duration": { type: "string", pattern: "^-?[0-9]+(\\.[0-9]{1,9})?s$", examples: ["1.5s"] },
  "google.protobuf.FieldMask": { type: "string" },
  "google.protobuf.Empty": { type: "object" },
  "google.protobuf.Struct": { type: "object" },
  "google.protobuf.Value": {},
  "google.protobuf.Any": { type: "object", properties: { "@type": { type: "string" } }, additionalProperties: true },
};

function scalarSchema(t: ScalarType): Schema {
  switch (t) {
    case ScalarType.STRING:
      return { type: "string" };
    case ScalarType.BYTES:
      return { type: "string", format: "byte" };
    case ScalarType.BOOL:
      return { type: "boolean" };
    case ScalarType.DOUBLE:
      return { type: "number", format: "double" };
    case ScalarType.FLOAT:
      return { type: "number", format: "float" };
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      return { type: "integer", format: "int32" };
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return { type: "integer", format: "uint32", minimum: 0, maximum: 4294967295 };
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return { type: "string", format: "uint64", pattern: "^[0-9]+$" };
    default:
      return { type: "string", format: "int64", pattern: "^-?[0-9]+$" };
  }
}

function enumSchema(e: DescEnum): Schema {
  return { type: "string", enum: e.values.map((v) => v.name) };
}

function text(comment: string | undefined): string {
  return (comment ?? "").split("\n").map((l) => l.replace(/^ /, "")).join("\n").trim();
}

const statusSchema: Schema = {
  type: "object",
  description: "google.rpc.Status: the gRPC code, its message and typed details (google.rpc.BadRequest field violations, log.v1.OffsetOutOfRange, …).",
  properties: {
    code: { type: "integer", format: "int32", description: "The gRPC status code, e.g. 5 (NOT_FOUND)." },
    message: { type: "string" },
    details: {
      type: "array",
      items: { type: "object", properties: { "@type": { type: "string" } }, required: ["@type"], additionalProperties: true },
    },
  },
  required: ["code", "message"],
};
