// `npm ci` on a fresh clone runs on the machine's Node (any Node npm itself
// supports), before the project's own Node 24 (the `node` devDependency) is in
// place. It must not print EBADENGINE warnings about the project's own
// packages: `engines` says what the code runs on (Node 24, from the `node`
// devDependency), `devEngines` what the npm commands need, and npm skips the
// root `engines` check when `devEngines` is present.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { copyFile, mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { existsSync, readFileSync, realpathSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { repoRoot } from "@switchboard/test-harness/server-process";

/** Every workspace package (gen, common, naming, node-client, server, web, tests/harness). */
const workspaces: string[] = JSON.parse(readFileSync(path.join(repoRoot, "package.json"), "utf8")).workspaces;

/**
 * Third-party packages whose own `engines` npm checks against the Node that
 * runs npm. npm has no per-package switch and no way to check against the
 * Node the project runs on, so these warnings stay when npm runs on an older
 * Node (they are true statements about those packages, and they do run on
 * the project's Node 24). Keep this list as short as the dependencies allow.
 */
const thirdPartyEngineWarnings = new Set([
  "@connectrpc/connect-node", // >=22 in every 2.x release
  "@nats-io/nuid", // >= 22.x, required by @nats-io/transport-node 3.x (the official NATS client)
]);

/** The npm and Node the machine runs npm with (not the project's Node 24). */
function machineNpm(): { node: string; npmCli: string } {
  const candidates = [process.env.npm_node_execpath, "/usr/bin/node", "/usr/local/bin/node"];
  const node = candidates.find((c) => c !== undefined && existsSync(c) && realpathSync(c) !== realpathSync(process.execPath));
  const npmCli =
    process.env.npm_execpath ?? realpathSync(execFileSync("sh", ["-c", "command -v npm"], { encoding: "utf8" }).trim());
  assert.ok(node, "no machine Node.js found next to the project's Node (the one npm runs on)");
  return { node, npmCli };
}

test("npm ci (dry run, the machine's npm) warns about no engine of the project's own packages", async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), "sb-install-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  for (const f of ["package.json", "package-lock.json", ".npmrc"]) {
    if (existsSync(path.join(repoRoot, f))) await copyFile(path.join(repoRoot, f), path.join(dir, f));
  }
  for (const w of workspaces) {
    await mkdir(path.join(dir, w), { recursive: true });
    await copyFile(path.join(repoRoot, w, "package.json"), path.join(dir, w, "package.json"));
  }
  await mkdir(path.join(dir, "node-client", "bin"));
  await copyFile(path.join(repoRoot, "node-client/bin/switchboard.js"), path.join(dir, "node-client/bin/switchboard.js"));

  const { node, npmCli } = machineNpm();
  const nodeVersion = execFileSync(node, ["--version"], { encoding: "utf8" }).trim();
  const out = await new Promise<string>((resolve, reject) => {
    execFile(
      node,
      [npmCli, "ci", "--dry-run", "--no-audit", "--no-fund", "--offline"],
      { cwd: dir, timeout: 120_000, env: { ...process.env, PATH: `${path.dirname(node)}:/usr/bin:/bin`, npm_config_loglevel: "warn" } },
      (err, stdout, stderr) => (err ? reject(new Error(`npm ci failed: ${stderr}`)) : resolve(stdout + stderr)),
    );
  });
  const warned = [...out.matchAll(/EBADENGINE\s+package: (\S+)/g)].map((m) => m[1]!.replace(/^'|',?$|,$/g, ""));
  const own = warned.filter((p) => p === "undefined" || p.startsWith("@switchboard/") || p.startsWith("switchboard@"));
  assert.deepEqual(own, [], `npm on ${nodeVersion} warned about the project's own engines:\n${out}`);
  const unexpected = warned.filter((p) => !thirdPartyEngineWarnings.has(p.replace(/@[^@]+$/, "")));
  assert.deepEqual(unexpected, [], `unexpected EBADENGINE warnings on ${nodeVersion}:\n${out}`);
  // Also no "install scripts not yet covered by allowScripts" list (npm ≥ 11.16): package.json's
  // allowScripts says which dependencies may run theirs (a dry run lists them, runs none).
  const otherWarnings = out.split("\n").filter((l) => l.startsWith("npm warn") && !l.includes("EBADENGINE"));
  assert.deepEqual(otherWarnings, [], out);
});

test("engines stays honest: it names the Node the project runs on, the `node` devDependency", async () => {
  const pkg = JSON.parse(await readFile(path.join(repoRoot, "package.json"), "utf8"));
  const lock = JSON.parse(await readFile(path.join(repoRoot, "package-lock.json"), "utf8"));
  const bundled: string = lock.packages["node_modules/node"].version;
  assert.equal(pkg.engines.node, ">=24.0.0 <25");
  assert.equal(bundled.split(".")[0], "24", "the node devDependency is Node 24");
  assert.equal(pkg.devEngines.runtime.name, "node");
  assert.equal(pkg.devEngines.packageManager.name, "npm");
  for (const w of workspaces) {
    const wp = JSON.parse(await readFile(path.join(repoRoot, w, "package.json"), "utf8"));
    assert.equal(wp.engines, undefined, `${w}/package.json: engines is declared once, at the root`);
  }
});
