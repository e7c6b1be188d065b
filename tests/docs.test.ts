// The README and docs/ stay true to the code: the server flag tables in docs/
// are the ones generated from server/src/flags/declarations.ts, every relative
// link and #anchor resolves, and the README starts with its Quickstart.
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { usage } from "@switchboard/server/config";
import { flagGroups, withFlagTable } from "@switchboard/server/flags/docs-table";
import { repoRoot } from "@switchboard/test-harness/server-process";

const docsDir = path.join(repoRoot, "docs");
const pages = [
  "README.md",
  ...readdirSync(docsDir)
    .filter((f) => f.endsWith(".md"))
    .map((f) => `docs/${f}`),
];
const read = (p: string) => readFileSync(path.join(repoRoot, p), "utf8");

test("the docs flag tables are the ones the flag declarations produce (npm run docs:flags rewrites them)", () => {
  assert.ok(flagGroups.length >= 4);
  const stale: string[] = [];
  for (const [group, page] of flagGroups) {
    const text = read(page);
    if (withFlagTable(text, group) !== text) stale.push(`${page} (flags:${group})`);
  }
  assert.deepEqual(stale, [], `out of date, run npm run docs:flags: ${stale.join(", ")}`);
});

test("every server flag of --help has a row in a generated docs table", () => {
  const documented = flagGroups.map(([, page]) => read(page)).join("\n");
  const missing: string[] = [];
  for (const m of usage.matchAll(/^ {2}(?:-\w, )?(--[a-z][a-z0-9-]*)/gm)) {
    if (m[1] !== "--help" && !documented.includes(`| \`${m[1]}`)) missing.push(m[1]!);
  }
  assert.ok(usage.includes("--log-replicas"), "usage parsed");
  assert.deepEqual(missing, []);
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
