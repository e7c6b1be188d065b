// scripts/check-imports.ts (run by `npm run lint` and `npm test`): a relative
// import from one workspace package into another fails it; imports by package
// name and relative imports inside a package pass.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { repoRoot } from "@switchboard/test-harness/server-process";

const script = path.join(repoRoot, "scripts/check-imports.ts");

function check(root?: string): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, [script, ...(root === undefined ? [] : [root])], { encoding: "utf8" });
  return { status: r.status, out: r.stdout + r.stderr };
}

function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), "sb-imports-"));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

/** Import statements built at run time, so this file's own text has none for the check to find. */
const reexport = (names: string, spec: string) => `export { ${names} } ${"from"} ${JSON.stringify(spec)};\n`;
const importFrom = (names: string, spec: string) => `import { ${names} } ${"from"} ${JSON.stringify(spec)};\n`;
const dynamic = (spec: string) => `await ${"import"}(${JSON.stringify(spec)});\n`;

const packages = {
  "package.json": "{}",
  "a/package.json": '{"name":"a"}',
  "b/package.json": '{"name":"b"}',
  "b/src/util.ts": "export const x = 1;\n",
};

test("the repository has no cross-package relative imports", () => {
  const { status, out } = check();
  assert.equal(status, 0, out);
});

test("a relative import into another package's src/ fails, naming file, line and packages", (t) => {
  const dir = tree({
    ...packages,
    "a/src/ok.ts": importFrom("y", "./own.ts") + importFrom("x", "b/util"),
    "a/src/own.ts": "export const y = 2;\n",
    "a/src/bad.ts": "// uses b\n" + reexport("x", "../../b/src/util.ts"),
    "tests/t.test.ts": dynamic("../a/src/own.ts"),
  });
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { status, out } = check(dir);
  assert.equal(status, 1, out);
  assert.match(out, /a\/src\/bad\.ts:2: "\.\.\/\.\.\/b\/src\/util\.ts" reaches from a into b/);
  assert.match(out, /tests\/t\.test\.ts:1: "\.\.\/a\/src\/own\.ts" reaches from \(root\) into a/);
  assert.doesNotMatch(out, /ok\.ts/);
  assert.match(out, /2 cross-package relative import\(s\)/);
});

test("relative imports inside one package pass", (t) => {
  const dir = tree({ ...packages, "a/src/x/deep.ts": importFrom("y", "../../src/y.ts") + dynamic("./z.ts") });
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { status, out } = check(dir);
  assert.equal(status, 0, out);
});
