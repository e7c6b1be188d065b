import assert from "node:assert/strict";
import path from "node:path";
import { test } from "node:test";
import { defaultServerOptions, parseServerArgs, repoRoot, usage } from "../config.ts";
import { defaultConnectionTimeouts } from "../http/connection-timeouts.ts";
import { serverFlags } from "./declarations.ts";
import { flagTable } from "./docs-table.ts";

test("defaultServerOptions comes from the declarations and keeps every old default", () => {
  assert.deepEqual(defaultServerOptions, {
    host: "localhost",
    port: 8080,
    dataDir: "./data",
    corsOrigins: ["http://localhost:5173", "http://127.0.0.1:5173"],
    maxMessageBytes: 4 * 1024 * 1024,
    shutdownTimeoutMs: 10_000,
    sniffTimeoutMs: 10_000,
    timeouts: defaultConnectionTimeouts,
    maxConcurrentStreams: 1000,
    maxConnections: 1000,
    logLevel: "info",
    logRequests: true,
    fastPath: true,
    metrics: true,
    metricsPublic: false,
    services: ["order", "log", "node"],
    interop: false,
    webDir: path.join(repoRoot, "web", "dist"),
    workerTimeoutMs: 15_000,
    taskRetries: 3,
    commitLog: {},
    registryPrefix: "switchboard/services",
    leaseTtlSeconds: 10,
    deregisterGraceMs: 1500,
    pgPoolSize: 10,
    pgStatementTimeoutMs: 5000,
  });
});

test("--help lists every flag with its default and environment variable", () => {
  for (const f of serverFlags) {
    const shown = f.arg === undefined ? `--${f.negatable ? "no-" : ""}${f.name}` : `--${f.name} <${f.arg}>`;
    const line = usage.split("\n").find((l) => l.trimStart().replace(/^-\w, /, "").startsWith(`${shown} `));
    assert.ok(line !== undefined, `${shown} in --help`);
    const entry = usage.slice(usage.indexOf(line)).split(/\n(?= {2}-)/)[0]!.replace(/\s+/g, " ");
    if (f.arg !== undefined && (f.default !== undefined || f.defaultText !== undefined)) {
      assert.match(entry, /\(default: /, `${shown} shows its default`);
      assert.ok(entry.includes(f.defaultText ?? String(f.default)), `${shown}: ${entry}`);
    }
    if (f.env !== undefined) assert.ok(entry.includes(`env: ${f.env}`), `${shown} names $${f.env}`);
  }
});

test("parsing: flags win over the environment, both forms of a switch, repeatable values", async () => {
  assert.deepEqual(await parseServerArgs([], { PORT: "9000", DATA_DIR: "/d" }), { port: 9000, dataDir: "/d" });
  assert.equal((await parseServerArgs(["--port=0"], { PORT: "9000" })).port, 0);
  assert.deepEqual((await parseServerArgs(["--cors-origin", "a", "--cors-origin=b"], {})).corsOrigins, ["a", "b"]);
  assert.equal((await parseServerArgs(["--no-request-log"], {})).logRequests, false);
  assert.equal((await parseServerArgs(["--request-log"], {})).logRequests, true);
  assert.deepEqual(await parseServerArgs(["-h"], {}), { help: true });
  assert.deepEqual(await parseServerArgs(["--repair-log"], {}), { repairLog: true });
  assert.deepEqual(await parseServerArgs(["--auth-token", ""], {}), {}, "an empty token is no token");
  const t = await parseServerArgs(["--idle-timeout", "1000", "--ping-timeout", "0"], {});
  assert.deepEqual(t.timeouts, { ...defaultConnectionTimeouts, idleTimeoutMs: 1000, pingTimeoutMs: 0 });
});

test("parsing: unknown flags, stray arguments, missing values and pairs are errors", async () => {
  await assert.rejects(parseServerArgs(["--bogus"], {}), /unknown option '--bogus'/);
  await assert.rejects(parseServerArgs(["serve"], {}), /too many arguments/);
  await assert.rejects(parseServerArgs(["--port"], {}), /argument missing/);
  await assert.rejects(parseServerArgs(["--tls-cert", "c.pem"], {}), /--tls-cert and --tls-key go together/);
  await assert.rejects(parseServerArgs(["--max-concurrent-streams", "0"], {}), /--max-concurrent-streams must be positive/);
  await assert.rejects(parseServerArgs(["--services", "order,nope"], {}), /unknown service "nope"/);
  await assert.rejects(parseServerArgs(["--etcd", "http://u:secret@h:2379/x"], {}), (err: Error) => !err.message.includes("secret"));
});

test("a docs table row per documented flag, in declaration order", () => {
  const rows = flagTable("registry").split("\n").slice(2);
  assert.deepEqual(rows.map((r) => /^\| `(--[a-z-]+)/.exec(r)?.[1]), ["--etcd", "--advertise", "--registry-prefix", "--lease-ttl", "--deregister-grace-ms"]);
  assert.match(flagTable("server"), /^\| `--port PORT` \| `8080` \(`\$PORT`\) \| /m);
  assert.doesNotMatch(flagTable("server"), /--help/);
});
