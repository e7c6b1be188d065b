/** The parts of the server's /openapi.json (tools/protoc-gen-openapi) the API page shows. */
export interface OpenApiSchema {
  $ref?: string;
  type?: string;
  format?: string;
  enum?: string[];
  items?: OpenApiSchema;
  properties?: Record<string, OpenApiSchema>;
  additionalProperties?: OpenApiSchema | boolean;
  description?: string;
  examples?: unknown[];
}

export interface OpenApiParameter {
  name: string;
  in: "path" | "query";
  required?: boolean;
  description?: string;
  schema: OpenApiSchema;
}

export interface OpenApiOperation {
  operationId: string;
  summary?: string;
  description?: string;
  tags?: string[];
  parameters?: OpenApiParameter[];
  requestBody?: { content: Record<string, { schema: OpenApiSchema }> };
  responses: Record<string, { description: string; content?: Record<string, { schema: OpenApiSchema }> }>;
}

export interface OpenApiDocument {
  info: { title: string; version: string; description?: string };
  paths: Record<string, Record<string, OpenApiOperation>>;
  components: { schemas: Record<string, OpenApiSchema> };
}

/** One operation with its HTTP method and path. */
export interface Operation {
  method: string;
  path: string;
  op: OpenApiOperation;
}

/** Every operation, grouped by its first tag (the protobuf service), in document order. */
export function operationsByTag(doc: OpenApiDocument): Map<string, Operation[]> {
  const out = new Map<string, Operation[]>();
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const tag = op.tags?.[0] ?? "other";
      const list = out.get(tag) ?? [];
      list.push({ method: method.toUpperCase(), path, op });
      out.set(tag, list);
    }
  }
  return out;
}

/** The name of a schema: the message type of a $ref, or its JSON type. */
export function schemaName(s: OpenApiSchema | undefined): string {
  if (s === undefined) return "";
  if (s.$ref) return s.$ref.split("/").pop() ?? s.$ref;
  if (s.type === "array") return `${schemaName(s.items)}[]`;
  if (s.enum) return "enum";
  return s.format ? `${s.type} (${s.format})` : (s.type ?? "any");
}

/** An example JSON value of a schema (every field with a placeholder), for curl lines. */
export function exampleOf(doc: OpenApiDocument, s: OpenApiSchema | undefined, depth = 0): unknown {
  if (s === undefined || depth > 4) return {};
  if (s.$ref) return exampleOf(doc, doc.components.schemas[s.$ref.split("/").pop() ?? ""], depth + 1);
  if (s.examples?.length) return s.examples[0];
  if (s.enum) return s.enum[1] ?? s.enum[0];
  switch (s.type) {
    case "object": {
      if (!s.properties) return {};
      return Object.fromEntries(Object.entries(s.properties).map(([k, v]) => [k, exampleOf(doc, v, depth + 1)]));
    }
    case "array":
      return [exampleOf(doc, s.items, depth + 1)];
    case "integer":
      return 0;
    case "number":
      return 0;
    case "boolean":
      return false;
    case "string":
      return s.format === "date-time" ? "2026-01-01T00:00:00Z" : s.format === "int64" || s.format === "uint64" ? "0" : "";
    default:
      return null;
  }
}
