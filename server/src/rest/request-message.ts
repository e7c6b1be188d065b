import {
  fromJson,
  ScalarType,
  type DescField,
  type DescMessage,
  type JsonObject,
  type JsonValue,
  type Message,
  type Registry,
} from "@bufbuild/protobuf";
import { invalidArgument, type FieldViolation } from "../errors.ts";
import type { HttpBinding } from "./http-rules.ts";

/**
 * Builds the request message of a REST call, grpc-gateway style: the body
 * (the whole message for `body: "*"`, one field for `body: "field"`), then the
 * path variables, then — unless the body is "*" — the query parameters, each
 * naming a field by its proto or JSON name, dotted for nested messages,
 * repeated for repeated fields (`?states=A&states=B`), map entries as
 * `?labels[zone]=eu`; the body field is not taken from the query. Everything
 * is merged as protobuf JSON and decoded once with @bufbuild/protobuf's
 * `fromJson`, so the same JSON names and value forms as the Connect protocol
 * apply (enums by name or number, 64-bit integers as strings, Duration "1.5s").
 *
 * Bad input → INVALID_ARGUMENT with a google.rpc.BadRequest field violation.
 */
export function requestMessage(
  binding: HttpBinding,
  pathValues: ReadonlyMap<string, string>,
  query: URLSearchParams,
  body: Uint8Array | undefined,
  registry: Registry,
): Message {
  const schema = binding.method.input;
  let json: JsonObject = {};
  if (binding.body !== "") {
    const parsed = parseBody(body, binding.body);
    if (binding.body === "*") {
      if (parsed !== null && (typeof parsed !== "object" || Array.isArray(parsed))) {
        throw invalidArgument("invalid request body", [{ field: "*", description: "must be a JSON object", reason: "INVALID_JSON" }]);
      }
      json = parsed ?? {};
    } else {
      const field = schema.fields.find((f) => f.name === binding.body)!;
      if (parsed !== null) json[field.jsonName] = parsed;
    }
  }
  for (const [path, value] of pathValues) setField(json, schema, path, [value], "path");
  if (binding.body !== "*") {
    const bodyField = schema.fields.find((f) => f.name === binding.body);
    for (const key of new Set(query.keys())) {
      const top = key.split(/[.[]/, 1)[0];
      if (bodyField !== undefined && (top === bodyField.name || top === bodyField.jsonName)) {
        throw invalidArgument("invalid query parameter", [
          { field: key, description: `"${binding.body}" is the request body, not a query parameter`, reason: "INVALID_ARGUMENT" },
        ]);
      }
      setField(json, schema, key, query.getAll(key), "query");
    }
  }
  try {
    return fromJson(schema, json, { registry });
  } catch (err) {
    throw invalidArgument("invalid request", [decodeViolation(err, schema, json)]);
  }
}

function parseBody(body: Uint8Array | undefined, field: string): JsonValue | null {
  const text = body === undefined ? "" : new TextDecoder("utf-8", { fatal: false }).decode(body);
  if (text.trim() === "") return null;
  try {
    return JSON.parse(text) as JsonValue;
  } catch (err) {
    throw invalidArgument("invalid JSON body", [
      { field: field === "*" ? "*" : field, description: (err as Error).message, reason: "INVALID_JSON" },
    ]);
  }
}

/** Sets a field (dotted path, proto or JSON names) in the JSON from string values. */
function setField(json: JsonObject, schema: DescMessage, path: string, values: string[], from: "path" | "query"): void {
  const parts = path.split(".");
  let obj = json;
  let msg = schema;
  for (let i = 0; i < parts.length; i++) {
    // A map entry: "labels[zone]" (grpc-gateway's syntax), only as the last part.
    const entry = i === parts.length - 1 ? /^([^[\]]+)\[([^\]]*)\]$/.exec(parts[i]!) : null;
    const part = entry ? entry[1]! : parts[i]!;
    const field = msg.fields.find((f) => f.name === part || f.jsonName === part);
    const bad = (description: string): never => {
      throw invalidArgument(`invalid ${from} parameter`, [{ field: path, description, reason: "INVALID_ARGUMENT" }]);
    };
    if (field === undefined) return bad(`no field "${part}" in ${msg.typeName}`);
    if (entry) {
      if (field.fieldKind !== "map") return bad(`"${part}" is not a map field`);
      if (field.mapKind === "message") return bad("map values that are messages cannot be set from the URL");
      if (values.length > 1) return bad("given more than once for a map entry");
      const map = obj[field.jsonName];
      const target = (obj[field.jsonName] = map !== null && typeof map === "object" && !Array.isArray(map) ? map : {}) as JsonObject;
      target[entry[2]!] = fromString(field, values[0]!);
      return;
    }
    if (i < parts.length - 1) {
      if (field.fieldKind !== "message") return bad(`"${part}" is not a message field`);
      const next = obj[field.jsonName];
      obj = (obj[field.jsonName] = next !== null && typeof next === "object" && !Array.isArray(next) ? next : {}) as JsonObject;
      msg = field.message;
      continue;
    }
    if (field.fieldKind === "map") return bad(`set map entries as "${part}[key]=value"`);
    if (field.fieldKind === "list") {
      obj[field.jsonName] = values.map((v) => fromString(field, v));
    } else {
      if (values.length > 1) return bad("given more than once for a singular field");
      if (field.fieldKind === "message" && !field.message.typeName.startsWith("google.protobuf.")) {
        return bad(`"${part}" is a message: set its fields ("${path}.<field>")`);
      }
      obj[field.jsonName] = fromString(field, values[0]!);
    }
  }
}

/** A URL string as the protobuf JSON value of a field (numbers and others stay strings: fromJson accepts them). */
function fromString(field: DescField, v: string): JsonValue {
  const kind = field.fieldKind === "list" ? field.listKind : field.fieldKind === "map" ? field.mapKind : field.fieldKind;
  if (kind === "enum") return /^-?\d+$/.test(v) ? Number(v) : v;
  if (kind === "scalar" && field.scalar === ScalarType.BOOL) {
    if (v === "true" || v === "1") return true;
    if (v === "false" || v === "0") return false;
  }
  return v;
}

/**
 * The violation of a fromJson error, with the dotted path of the bad field
 * ("command.args", "order.items[0]"). fromJson names only the innermost field
 * (or none, for well-known types), so the path is found by decoding the
 * members one by one — on the error path only.
 */
function decodeViolation(err: unknown, schema: DescMessage, json: JsonObject): FieldViolation {
  const description = err instanceof Error ? err.message : String(err);
  return { field: locate(schema, json, ""), description, reason: "INVALID_ARGUMENT" };
}

function locate(schema: DescMessage, json: JsonValue, prefix: string): string {
  if (json === null || typeof json !== "object" || Array.isArray(json)) return prefix.slice(0, -1);
  for (const [key, value] of Object.entries(json)) {
    if (decodes(schema, { [key]: value })) continue;
    const f = schema.fields.find((x) => x.jsonName === key || x.name === key);
    const name = prefix + (f?.name ?? key);
    if (f?.fieldKind === "message" && !f.message.typeName.startsWith("google.protobuf.")) {
      return locate(f.message, value, `${name}.`) || name;
    }
    if (f?.fieldKind === "list" && Array.isArray(value)) {
      const i = value.findIndex((v) => !decodes(schema, { [key]: [v] }));
      if (i < 0) return name;
      if (f.listKind === "message" && !f.message.typeName.startsWith("google.protobuf.")) {
        return locate(f.message, value[i]!, `${name}[${i}].`) || `${name}[${i}]`;
      }
      return `${name}[${i}]`;
    }
    return name;
  }
  return prefix.slice(0, -1);
}

function decodes(schema: DescMessage, json: JsonObject): boolean {
  try {
    fromJson(schema, json);
    return true;
  } catch {
    return false;
  }
}
