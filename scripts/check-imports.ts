// Fails when a source file imports a file of another workspace package by a
// relative path (`../../node-client/src/…`): packages use each other by name
// (`@switchboard/naming`), through the "exports" their package.json declares.
// The package of a file is the nearest folder above it with a package.json
// (the repository root for tests/, bench/, scripts/ and tools/).
// `npm run lint` and `npm test` run it: `node scripts/check-imports.ts [root]`
// (root: the repository by default; tests/check-imports.test.ts passes a
// throwaway tree).
//
// Hand-written rather than an eslint rule: the project has no eslint, and
// knip (which it does run) reports unused and unlisted code, not this.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(process.argv[2] ?? fileURLToPath(new URL("..", import.meta.url)));
const skipDirs = new Set(["node_modules", ".git", "dist", "data", "test-output", "out", ".tmp"]);
const sourceFile = /\.(?:[cm]?[jt]s|tsx|jsx)$/;
// `from "x"`, `import "x"`, `import("x")`, `export … from "x"`.
const specifier = /(?:\bfrom\s*|\bimport\s*\(?\s*)["'](\.{1,2}\/[^"']*)["']/g;

function* walk(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) {
      if (!skipDirs.has(entry.name)) yield* walk(path.join(dir, entry.name));
    } else if (sourceFile.test(entry.name)) {
      yield path.join(dir, entry.name);
    }
  }
}

const packageOf = new Map<string, string>();
/** The package folder of `dir`; "" when `dir` is outside the repository. */
function packageDir(dir: string): string {
  const known = packageOf.get(dir);
  if (known !== undefined) return known;
  const outside = path.relative(root, dir).startsWith("..");
  const found = outside ? "" : dir === root || existsSync(path.join(dir, "package.json")) ? dir : packageDir(path.dirname(dir));
  packageOf.set(dir, found);
  return found;
}

const problems: string[] = [];
for (const file of walk(root)) {
  const from = packageDir(path.dirname(file));
  const text = readFileSync(file, "utf8");
  for (const match of text.matchAll(specifier)) {
    const spec = match[1]!;
    const target = path.resolve(path.dirname(file), spec);
    const to = packageDir(path.dirname(target));
    if (to !== from) {
      const line = text.slice(0, match.index).split("\n").length;
      const name = (dir: string) => (dir === "" ? "outside the repository" : path.relative(root, dir) || "(root)");
      problems.push(`${path.relative(root, file)}:${line}: "${spec}" reaches from ${name(from)} into ${name(to)}; import it by package name`);
    }
  }
}

if (problems.length > 0) {
  process.stderr.write(`${problems.join("\n")}\n${problems.length} cross-package relative import(s)\n`);
  process.exit(1);
}
process.stdout.write("no cross-package relative imports\n");
