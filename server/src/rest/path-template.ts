/**
 * google.api.http path templates (google/api/http.proto):
 *
 *     Template = "/" Segments [ Verb ] ;
 *     Segments = Segment { "/" Segment } ;
 *     Segment  = "*" | "**" | LITERAL | Variable ;
 *     Variable = "{" FieldPath [ "=" Segments ] "}" ;
 *     FieldPath = IDENT { "." IDENT } ;
 *     Verb     = ":" LITERAL ;
 *
 * Parsed once into segments, then matched against request paths. Written by
 * hand: no npm package implements this grammar (grpc-gateway and Envoy do it
 * in Go and C++), and it is small.
 */

/** One segment of a template: a literal, `*` (one segment) or `**` (the rest). */
export type Segment = { kind: "literal"; value: string } | { kind: "*" } | { kind: "**" };

/** A variable: the field path it sets and the segments it spans [start, end). */
export interface Variable {
  fieldPath: string;
  start: number;
  end: number;
  /** True when it ends with `**` (its value keeps its slashes). */
  rest: boolean;
}

export interface PathTemplate {
  readonly template: string;
  readonly segments: readonly Segment[];
  readonly variables: readonly Variable[];
  /** The custom verb after ":" (e.g. "cancel"), or undefined. */
  readonly verb: string | undefined;
}

/** Parses a template; throws an Error naming the problem for an invalid one. */
export function parsePathTemplate(template: string): PathTemplate {
  if (!template.startsWith("/")) throw new Error(`path template ${template}: must start with "/"`);
  let body = template.slice(1);
  let verb: string | undefined;
  // The verb is a ":" after the last "/" that is not inside a variable.
  let depth = 0;
  let lastSlash = -1;
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c === "{") depth++;
    else if (c === "}") depth--;
    else if (c === "/" && depth === 0) lastSlash = i;
  }
  for (let i = lastSlash + 1, d = 0; i < body.length; i++) {
    const c = body[i];
    if (c === "{") d++;
    else if (c === "}") d--;
    else if (c === ":" && d === 0) {
      verb = body.slice(i + 1);
      body = body.slice(0, i);
      break;
    }
  }
  const segments: Segment[] = [];
  const variables: Variable[] = [];
  const parts = splitTop(body, template);
  for (const part of parts) {
    if (part.startsWith("{")) {
      if (!part.endsWith("}")) throw new Error(`path template ${template}: unclosed variable`);
      const inner = part.slice(1, -1);
      const eq = inner.indexOf("=");
      const fieldPath = eq < 0 ? inner : inner.slice(0, eq);
      if (!/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/.test(fieldPath)) {
        throw new Error(`path template ${template}: bad field path "${fieldPath}"`);
      }
      const sub = eq < 0 ? ["*"] : inner.slice(eq + 1).split("/");
      const start = segments.length;
      for (const s of sub) segments.push(segmentOf(s, template));
      variables.push({ fieldPath, start, end: segments.length, rest: sub.at(-1) === "**" });
    } else {
      segments.push(segmentOf(part, template));
    }
  }
  const restAt = segments.findIndex((s) => s.kind === "**");
  if (restAt >= 0 && restAt !== segments.length - 1) {
    throw new Error(`path template ${template}: "**" must be the last segment`);
  }
  return { template, segments, variables, verb };
}

function splitTop(body: string, template: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = "";
  for (const c of body) {
    if (c === "{") depth++;
    if (c === "}") depth--;
    if (depth < 0 || depth > 1) throw new Error(`path template ${template}: unbalanced braces`);
    if (c === "/" && depth === 0) {
      out.push(cur);
      cur = "";
    } else cur += c;
  }
  out.push(cur);
  if (out.some((s) => s === "")) throw new Error(`path template ${template}: empty segment`);
  return out;
}

function segmentOf(s: string, template: string): Segment {
  if (s === "*" || s === "**") return { kind: s };
  if (s === "" || /[{}*]/.test(s)) throw new Error(`path template ${template}: bad segment "${s}"`);
  return { kind: "literal", value: s };
}

/**
 * Matches a request path (without the query) against a template; returns the
 * variable values by field path, or undefined. Values are percent-decoded;
 * a variable ending in `**` keeps its slashes. A path that fails to decode
 * does not match.
 */
export function matchPath(t: PathTemplate, path: string): Map<string, string> | undefined {
  if (!path.startsWith("/")) return undefined;
  let rest = path.slice(1);
  if (t.verb !== undefined) {
    const suffix = `:${t.verb}`;
    if (!rest.endsWith(suffix)) return undefined;
    rest = rest.slice(0, -suffix.length);
  }
  const parts = rest.split("/");
  const segs = t.segments;
  const last = segs.at(-1);
  const hasRest = last?.kind === "**";
  if (hasRest ? parts.length < segs.length - 1 : parts.length !== segs.length) return undefined;
  for (let i = 0; i < segs.length; i++) {
    const s = segs[i]!;
    if (s.kind === "**") break;
    const p = parts[i]!;
    if (p === "") return undefined;
    if (s.kind === "literal" && p !== s.value) return undefined;
  }
  const values = new Map<string, string>();
  try {
    for (const v of t.variables) {
      const end = v.rest ? parts.length : v.end;
      const raw = parts.slice(v.start, end);
      values.set(v.fieldPath, raw.map((p) => decodeURIComponent(p)).join("/"));
    }
  } catch {
    return undefined;
  }
  return values;
}

/** Number of literal segments: more literals is a more specific route. */
export function literalCount(t: PathTemplate): number {
  return t.segments.filter((s) => s.kind === "literal").length + (t.verb !== undefined ? 1 : 0);
}

/** The template as an OpenAPI path: every variable becomes "{field.path}". */
export function openApiPath(t: PathTemplate): string {
  let out = "";
  let i = 0;
  const byStart = new Map(t.variables.map((v) => [v.start, v]));
  while (i < t.segments.length) {
    const v = byStart.get(i);
    if (v !== undefined) {
      out += `/{${v.fieldPath}}`;
      i = v.end;
      continue;
    }
    const s = t.segments[i]!;
    out += "/" + (s.kind === "literal" ? s.value : s.kind);
    i++;
  }
  return out + (t.verb !== undefined ? `:${t.verb}` : "");
}
