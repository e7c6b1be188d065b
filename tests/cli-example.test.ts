// The Node client script (node-client/examples/client-script.ts) runs
// against a real server and worker, and the installed `switchboard` bin works.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { accessSync, constants, lstatSync, readFileSync, realpathSync } from "node:fs";
import path from "node:path";
import { runCli } from "@switchboard/test-harness/cli";
import { repoRoot, startServerProcess } from "@switchboard/test-harness/server-process";
import { startWorkerProcess } from "@switchboard/test-harness/worker-process";

test("the example script and the switchboard bin", async (t) => {
  const server = await startServerProcess({ args: ["--no-request-log"] });
  t.after(() => server.cleanup());
  const worker = startWorkerProcess({ serverUrl: server.url, id: "example-worker", allow: ["echo"] });
  t.after(() => worker.cleanup());

  await t.test("examples/client-script.ts: orders, log, and a task run by the worker", async () => {
    const script = path.join(repoRoot, "node-client/examples/client-script.ts");
    const child = spawn(process.execPath, [script, "--server", server.url, "--task-timeout", "60"], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += String(d)));
    child.stderr.on("data", (d) => (err += String(d)));
    const timer = setTimeout(() => child.kill("SIGKILL"), 90_000);
    const code = await new Promise<number | null>((resolve) => child.once("close", resolve));
    clearTimeout(timer);
    assert.equal(code, 0, `${out}\n${err}`);
    assert.match(out, /^stored: USB-C cable, Charger → Berlin, DE$/m);
    assert.match(out, /^found example-\d+: USB-C cable, Charger$/m);
    assert.match(out, /^updated: example-\d+, 103$/m);
    assert.match(out, /^shipment \S+ \(Processed!\): example-\d+$/m);
    for (const text of ["hello", "from", "the example"]) assert.match(out, new RegExp(`^tail: offset \\d+ = ${text}$`, "m"));
    assert.match(out, /^result: exit 0, stdout: "hello from a worker\\n"$/m);
    assert.match(out, /example finished/);
  });

  await t.test("library: leaving a stream early cancels the call, so a script exits without waiting for the deadline", async () => {
    const index = path.join(repoRoot, "node-client/src/index.ts");
    const code = `
      import { createClients } from ${JSON.stringify(index)};
      const sb = createClients({ baseUrl: ${JSON.stringify(server.url)}, timeoutMs: 600000 });
      for await (const { order } of sb.orders.searchOrders({ query: "" })) { console.log(order.id); break; }
      for await (const { record } of sb.log.consumeStream({ offset: 0n })) { console.log("tail", record.offset); break; }
      await sb.close();`;
    const child = spawn(process.execPath, ["--input-type=module", "-e", code], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += String(d)));
    child.stderr.on("data", (d) => (err += String(d)));
    // A 10-minute deadline is pending on both streams: only cancellation lets the process end.
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    const [exit, signal] = await new Promise<[number | null, string | null]>((resolve) => child.once("exit", (c, s) => resolve([c, s])));
    clearTimeout(timer);
    assert.deepEqual([exit, signal], [0, null], err);
    assert.match(out, /^102\ntail \d+n\n$/);
  });

  await t.test("node_modules/.bin/switchboard → the workspace launcher runs the CLI", async () => {
    const bin = path.join(repoRoot, "node_modules/.bin/switchboard");
    assert.ok(lstatSync(bin).isSymbolicLink(), "npm linked the workspace bin");
    const launcher = realpathSync(bin);
    assert.equal(launcher, path.join(repoRoot, "node-client/bin/switchboard.js"));
    accessSync(launcher, constants.X_OK);
    assert.match(readFileSync(launcher, "utf8"), /^#!\/usr\/bin\/env node\n/);
    const pkg = JSON.parse(readFileSync(path.join(repoRoot, "node-client/package.json"), "utf8")) as { bin: Record<string, string> };
    assert.deepEqual(pkg.bin, { switchboard: "bin/switchboard.js" });

    // Run through the symlink in node_modules, the way `npx switchboard` does.
    const r = await runCli(["orders", "get", "104", "--json", "--server", server.url], { entry: bin });
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { id: string }).id, "104");
  });
});
