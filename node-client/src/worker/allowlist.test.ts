import { test } from "node:test";
import assert from "node:assert/strict";
import { parseAllowList, refusal, resolveProgram } from "./allowlist.ts";

test("allowlist matching: exact names or exact absolute paths, nothing else", () => {
  const allow = parseAllowList(["echo,sleep", "/usr/bin/touch"]);
  const table: Array<[string, boolean]> = [
    ["echo", true],
    ["sleep", true],
    ["/usr/bin/touch", true],
    ["touch", false], // only the absolute path is allowed
    ["/bin/echo", false], // only the name is allowed
    ["/usr/bin/echo", false],
    ["./echo", false],
    ["bin/echo", false],
    ["echo ", false],
    ["ECHO", false],
    ["ech", false],
    ["echo;rm", false],
    ["/usr/bin/../bin/touch", false],
    ["", false],
  ];
  for (const [program, ok] of table) {
    assert.equal(refusal(allow, program), ok ? undefined : `program not allowed: ${program}`, JSON.stringify(program));
  }
});

test("an empty allowlist allows nothing", () => {
  const allow = parseAllowList([]);
  for (const p of ["echo", "/bin/sh", "sh"]) assert.equal(refusal(allow, p), `program not allowed: ${p}`);
});

test("parseAllowList rejects relative paths and unnormalized absolute paths", () => {
  const table: Array<[string, RegExp | undefined]> = [
    ["echo", undefined],
    [" echo , sleep ", undefined],
    ["/usr/bin/env", undefined],
    ["bin/echo", /must be a program name or an absolute path/],
    ["./echo", /must be a program name or an absolute path/],
    ["..", /must be a program name or an absolute path/],
    ["/usr/bin/../bin/sh", /not a normalized absolute path/],
    ["/usr/bin/", /not a normalized absolute path/],
  ];
  for (const [entry, error] of table) {
    if (error) assert.throws(() => parseAllowList([entry]), error, entry);
    else assert.doesNotThrow(() => parseAllowList([entry]), entry);
  }
});

test("resolveProgram looks names up on the given PATH only", () => {
  const table: Array<[string, string, boolean]> = [
    ["sh", "/usr/bin:/bin", true],
    ["sh", "", false],
    ["sh", "relative/dir", false],
    ["no-such-program-xyz", "/usr/bin:/bin", false],
    ["/bin/sh", "", true],
    ["/etc/passwd", "", false], // not executable
    ["/tmp", "", false], // a directory
  ];
  for (const [program, pathEnv, found] of table) {
    const file = resolveProgram(program, pathEnv);
    assert.equal(file !== undefined, found, `${program} on "${pathEnv}"`);
    if (file) assert.ok(file.startsWith("/"));
  }
});
