// The README and docs/ stay true to the code: every server flag in `--help`
// is documented in a docs/ flag table (and every documented server flag
// exists), every relative link and #anchor resolves, and the README starts
// with its Quickstart.
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { usage } from "../server/src/config.ts";
import { repoRoot } from "./harness/server-process.ts";

const docsDir = path.join(repoRoot, "docs");
const pages = [
  "README.md",
  ...readdirSync(docsDir)
    .filter((f) => f.endsWith(".md"))
    .map((f) => `docs/${f}`),
];
const read = (p: string) => readFileSync(path.join(repoRoot, p), "utf8");

/** The long flags `--help` names (the `--no-x` form of a boolean counts as its own flag). */
function helpFlags(): Set<string> {
  const flags = new Set<string>();
  for (const line of usage.split("\n")) {
    for (const m of line.matchAll(/^\s+(?:-\w, )?(--[a-z][a-z0-9-]*)/g)) flags.add(m[1]!);
  }
  flags.delete("--help");
  return flags;
}

/** Flags in the first cell of a markdown table row, e.g. "| `--auth-token-file`, `--auth-token` | …". */
function tableFlags(text: string): Set<string> {
  const flags = new Set<string>();
  for (const line of text.split("\n")) {
    const cell = /^\|([^|]*)\|/.exec(line)?.[1];
    if (cell === undefined) continue;
    for (const m of cell.matchAll(/`(--[a-z][a-z0-9-]*)/g)) flags.add(m[1]!);
  }
  return flags;
}

test("every server flag of --help is in a flag table of the server docs, and every server-table flag exists", () => {
  const help = helpFlags();
  assert.ok(help.size > 30, `parsed only ${help.size} flags from --help`);
  const serverDocs = ["docs/server.md", "docs/log.md", "docs/tasks.md", "docs/discovery.md", "docs/cluster-mode.md", "docs/observability.md", "docs/interop.md"]
    .filter((p) => existsSync(path.join(repoRoot, p)))
    .map(read)
    .join("\n");
  const documented = tableFlags(serverDocs);
  const missing = [...help].filter((f) => !documented.has(f));
  assert.deepEqual(missing, [], `flags in --help without a docs table row: ${missing.join(", ")}`);
  // The server page's own flag table lists only real server flags.
  const serverTable = tableFlags(read("docs/server.md"));
  const unknown = [...serverTable].filter((f) => !help.has(f));
  assert.deepEqual(unknown, [], `docs/server.md lists flags the server does not have: ${unknown.join(", ")}`);
});

/** GitHub's heading anchors. */
function anchors(text: string): Set<string> {
  const out = new Set<string>();
  let inFence = false;
  for (const line of text.split("\n")) {
    if (line.startsWith("```")) inFence = !inFence;
    if (inFence) continue;
    const h = /^#{1,6} (.+)$/.exec(line)?.[1];
    if (h === undefined) continue;
    out.add(
      h
        .trim()
        .toLowerCase()
        .replace(/[^\p{L}\p{N}\- _]/gu, "")
        .replace(/ /g, "-"),
    );
  }
  return out;
}

test("every relative link and #anchor in README.md and docs/ resolves", () => {
  const broken: string[] = [];
  for (const page of pages) {
    const text = read(page).replace(/```[\s\S]*?```/g, "");
    for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      const target = m[1]!;
      if (/^[a-z]+:/.test(target)) continue;
      const [file, anchor] = target.split("#") as [string, string | undefined];
      const resolved = file === "" ? page : path.normalize(path.join(path.dirname(page), file));
      if (!existsSync(path.join(repoRoot, resolved))) {
        broken.push(`${page}: ${target} (no file ${resolved})`);
        continue;
      }
      if (anchor !== undefined && resolved.endsWith(".md") && !anchors(read(resolved)).has(anchor)) {
        broken.push(`${page}: ${target} (no heading #${anchor} in ${resolved})`);
      }
    }
  }
  assert.deepEqual(broken, []);
});

test("the README opens with what Switchboard is, then the Quickstart and the documentation index", () => {
  const lines = read("README.md").split("\n");
  const quick = lines.findIndex((l) => l === "## Quickstart");
  assert.ok(quick > 0 && quick < 20, `## Quickstart at line ${quick + 1}`);
  const docs = lines.findIndex((l) => l === "## Documentation");
  assert.ok(docs > quick, "a documentation index after the Quickstart");
  for (const page of pages.filter((p) => p.startsWith("docs/"))) {
    assert.ok(read("README.md").includes(`](${page})`), `README links ${page}`);
  }
});
