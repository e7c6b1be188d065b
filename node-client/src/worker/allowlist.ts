import { accessSync, constants, statSync } from "node:fs";
import path from "node:path";

/**
 * The programs a worker may run (`--allow`): exact program names (matched
 * against the task's program as written, then looked up on the child's PATH)
 * or exact absolute paths. Nothing else: no globs, no prefixes, no relative
 * paths; an empty list allows nothing.
 */
export interface AllowList {
  readonly names: ReadonlySet<string>;
  readonly paths: ReadonlySet<string>;
}

/** Parses `--allow` entries (each may itself be comma-separated). Throws on an entry that is neither. */
export function parseAllowList(entries: readonly string[]): AllowList {
  const names = new Set<string>();
  const paths = new Set<string>();
  for (const raw of entries.flatMap((e) => e.split(","))) {
    const e = raw.trim();
    if (e === "") continue;
    if (path.isAbsolute(e)) {
      if (path.normalize(e) !== e || e.endsWith("/")) throw new Error(`--allow: "${e}" is not a normalized absolute path`);
      paths.add(e);
    } else if (e.includes("/") || e === "." || e === "..") {
      throw new Error(`--allow: "${e}" must be a program name or an absolute path`);
    } else {
      names.add(e);
    }
  }
  return { names, paths };
}

/** Why a program may not run, or undefined when it may. */
export function refusal(allow: AllowList, program: string): string | undefined {
  const ok = program.includes("/") ? allow.paths.has(program) : allow.names.has(program);
  return ok ? undefined : `program not allowed: ${program}`;
}

/**
 * The file to execute: an absolute path as is, a name looked up on `pathEnv`
 * (like execvp, but done here so the child never searches a PATH that a
 * task could influence). Undefined when not found or not executable.
 */
export function resolveProgram(program: string, pathEnv: string): string | undefined {
  const candidates = path.isAbsolute(program)
    ? [program]
    : pathEnv.split(":").filter((d) => path.isAbsolute(d)).map((d) => path.join(d, program));
  for (const file of candidates) {
    try {
      if (!statSync(file).isFile()) continue;
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not there, or not executable: next
    }
  }
  return undefined;
}
