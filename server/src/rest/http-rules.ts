import { getOption, hasOption, type DescExtension, type DescFile, type DescMethod } from "@bufbuild/protobuf";
import type { GenExtension } from "@bufbuild/protobuf/codegenv2";
import type { MethodOptions } from "@bufbuild/protobuf/wkt";
import type { HttpRule } from "@switchboard/gen/google/api/http_pb.js";

/** One REST binding of a method: a verb, a path template, and where the body goes. */
export interface HttpBinding {
  method: DescMethod;
  /** Upper-case HTTP method, e.g. "GET"; custom rules keep their kind. */
  verb: string;
  /** The path template as written, e.g. "/v1/tasks/{task_id}:cancel". */
  path: string;
  /** "" (no body), "*" (the whole request) or a top-level field name. */
  body: string;
  /** "" (the whole response) or a top-level field name of the response. */
  responseBody: string;
}

/**
 * The bindings of a method's `google.api.http` option (the rule and its
 * additional_bindings), in declaration order; none when it has no rule.
 * `http` is the extension: the generated one at run time, or the one found in
 * the CodeGeneratorRequest by the protoc plugin (see `findHttpExtension`).
 */
export function httpBindings(method: DescMethod, http: DescExtension): HttpBinding[] {
  const ext = http as GenExtension<MethodOptions, HttpRule>;
  if (!hasOption(method, ext)) return [];
  const rule = getOption(method, ext);
  const out: HttpBinding[] = [];
  const add = (r: HttpRule) => {
    const p = r.pattern;
    if (p.case === undefined) return;
    const verb = p.case === "custom" ? p.value.kind : p.case.toUpperCase();
    const path = p.case === "custom" ? p.value.path : p.value;
    out.push({ method, verb, path, body: r.body, responseBody: r.responseBody });
  };
  add(rule);
  for (const extra of rule.additionalBindings) add(extra);
  return out;
}

/** The google.api.http extension among the given files (and their dependencies). */
export function findHttpExtension(files: readonly DescFile[]): DescExtension | undefined {
  const seen = new Set<DescFile>();
  const visit = (f: DescFile): DescExtension | undefined => {
    if (seen.has(f)) return undefined;
    seen.add(f);
    const ext = f.extensions.find((e) => e.typeName === "google.api.http");
    if (ext) return ext;
    for (const d of f.dependencies) {
      const found = visit(d);
      if (found) return found;
    }
    return undefined;
  };
  for (const f of files) {
    const found = visit(f);
    if (found) return found;
  }
  return undefined;
}
