import { test } from "node:test";
import assert from "node:assert/strict";
import { hostname } from "node:os";
import { defaultServerOptions, parseServerArgs } from "../config.ts";
import { defaultAdvertise } from "./advertise.ts";

test("registry defaults: off, switchboard/services, 10 s lease, 1.5 s grace", () => {
  assert.equal(defaultServerOptions.etcd, undefined);
  assert.equal(defaultServerOptions.registryPrefix, "switchboard/services");
  assert.equal(defaultServerOptions.leaseTtlSeconds, 10);
  assert.equal(defaultServerOptions.deregisterGraceMs, 1500);
});

test("registry flags", async (t) => {
  const cases: Array<{ name: string; argv: string[]; env?: NodeJS.ProcessEnv; want?: object; error?: RegExp }> = [
    { name: "--etcd list", argv: ["--etcd", "http://a:2379, http://b:2379"], want: { etcd: ["http://a:2379", "http://b:2379"] } },
    { name: "$ETCD_ENDPOINTS", argv: [], env: { ETCD_ENDPOINTS: "http://127.0.0.1:2379" }, want: { etcd: ["http://127.0.0.1:2379"] } },
    { name: "--etcd wins over the env", argv: ["--etcd", "http://x:1"], env: { ETCD_ENDPOINTS: "http://y:2" }, want: { etcd: ["http://x:1"] } },
    { name: "empty env is off", argv: [], env: { ETCD_ENDPOINTS: "" }, want: {} },
    { name: "--etcd not a URL", argv: ["--etcd", "127.0.0.1:2379"], error: /--etcd: "127.0.0.1:2379" is not a URL/ },
    { name: "--advertise", argv: ["--advertise", "10.0.0.5:8080"], want: { advertise: "10.0.0.5:8080" } },
    { name: "--advertise IPv6", argv: ["--advertise", "[::1]:8080"], want: { advertise: "[::1]:8080" } },
    { name: "--advertise without port", argv: ["--advertise", "host"], error: /--advertise must be host:port/ },
    { name: "--advertise port 0", argv: ["--advertise", "host:0"], error: /--advertise must be host:port/ },
    { name: "--registry-prefix trailing slash", argv: ["--registry-prefix", "a/b/"], want: { registryPrefix: "a/b" } },
    { name: "--registry-prefix empty", argv: ["--registry-prefix", "/"], error: /must not be empty/ },
    { name: "--lease-ttl", argv: ["--lease-ttl", "3"], want: { leaseTtlSeconds: 3 } },
    { name: "--lease-ttl too small", argv: ["--lease-ttl", "1"], error: /at least 2/ },
    { name: "--lease-ttl not a number", argv: ["--lease-ttl", "ten"], error: /non-negative integer/ },
    { name: "--deregister-grace-ms 0", argv: ["--deregister-grace-ms", "0"], want: { deregisterGraceMs: 0 } },
  ];
  for (const c of cases) {
    await t.test(c.name, async () => {
      const parsed = parseServerArgs(c.argv, c.env ?? {});
      if (c.error) return assert.rejects(parsed, c.error);
      const got = await parsed;
      const picked = Object.fromEntries(
        ["etcd", "advertise", "registryPrefix", "leaseTtlSeconds", "deregisterGraceMs"]
          .filter((k) => k in got)
          .map((k) => [k, (got as Record<string, unknown>)[k]]),
      );
      assert.deepEqual(picked, c.want);
    });
  }
});

test("default advertise address", () => {
  const cases: Array<[string, number, string]> = [
    ["localhost", 8080, "127.0.0.1:8080"],
    ["127.0.0.1", 1, "127.0.0.1:1"],
    ["0.0.0.0", 9000, `${hostname()}:9000`],
    ["::", 9000, `${hostname()}:9000`],
    ["::1", 9000, "[::1]:9000"],
    ["example.internal", 80, "example.internal:80"],
  ];
  for (const [host, port, want] of cases) assert.equal(defaultAdvertise(host, port), want, `${host}:${port}`);
});
