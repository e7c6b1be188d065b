// The README's Quickstart "first calls", run verbatim against a real server
// (only the address changes: localhost:8080 → the test server's port).
// grpcurl is not installable here (no npm or Debian package); buf curl covers
// the same reflection-based gRPC call.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { repoRoot, startServerProcess } from "@switchboard/test-harness/server-process";

const run = promisify(execFile);

function firstCalls(): string[] {
  const readme = readFileSync(path.join(repoRoot, "README.md"), "utf8");
  const quick = readme.slice(readme.indexOf("## Quickstart"), readme.indexOf("## Documentation"));
  const blocks = [...quick.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
  const calls = blocks.find((b) => b.includes("orders get 102"));
  assert.ok(calls, "the Quickstart has a block of first calls");
  return calls
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("grpcurl"));
}

test("the Quickstart's first calls work verbatim and all return order 102", async (t) => {
  const server = await startServerProcess();
  t.after(() => server.cleanup());
  const calls = firstCalls();
  assert.equal(calls.length, 4, calls.join("\n"));
  for (const line of calls) {
    const cmd = line.replaceAll("localhost:8080", `127.0.0.1:${server.port}`).replace(/\s+#.*$/, "");
    const { stdout } = await run("bash", ["-c", cmd], {
      cwd: repoRoot,
      env: { ...process.env, SWITCHBOARD_SERVER: server.url },
      timeout: 60_000,
    });
    assert.match(stdout, /102/, `${cmd}\n→ ${stdout}`);
    assert.match(stdout, /Mountain View|Google|Apple|San Jose/i, `${cmd} shows the order\n→ ${stdout}`);
  }
});
