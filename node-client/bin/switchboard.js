#!/usr/bin/env node
// Launcher of the `switchboard` bin (node_modules/.bin/switchboard → here).
// Node 24 runs the CLI's TypeScript directly, but it refuses to strip types
// from files under node_modules; npm links this workspace into
// node_modules as a symlink and Node resolves it to the real path
// (node-client/src/…), so importing the .ts entry works. This file is plain
// JavaScript so that it can at least explain itself on an older Node.
const major = Number(process.versions.node.split(".")[0]);
if (major < 24) {
  process.stderr.write(
    `switchboard needs Node.js 24 or newer (this is ${process.version}); ` +
      "run it through npm (npx switchboard …, npm run switchboard -- …), which uses the project's Node 24.\n",
  );
  process.exit(1);
}
// Cache compiled modules (and their stripped types) between runs: halves the
// CPU time of a CLI start (Node's own cache, in the OS temp directory).
const { enableCompileCache } = await import("node:module");
enableCompileCache?.();
await import("../src/cli/main.ts");
