// `npm run docs:flags`: rewrites the server flag tables in docs/*.md from
// server/src/flags/declarations.ts (the tables between <!-- flags:GROUP --> markers).
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { flagGroups, withFlagTable } from "@switchboard/server/flags/docs-table";

const root = fileURLToPath(new URL("../", import.meta.url));
for (const [group, page] of flagGroups) {
  const file = path.join(root, page);
  const before = readFileSync(file, "utf8");
  const after = withFlagTable(before, group);
  if (after !== before) writeFileSync(file, after);
  console.log(`${page}: flags:${group} ${after === before ? "up to date" : "rewritten"}`);
}
