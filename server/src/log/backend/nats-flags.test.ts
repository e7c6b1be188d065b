import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { defaultServerOptions, parseServerArgs } from "../../config.ts";

test("NATS flags: default off (embedded log)", () => {
  assert.equal(defaultServerOptions.nats, undefined);
});

test("NATS flags", async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nats-flags-"));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const tokenFile = path.join(dir, "token");
  fs.writeFileSync(tokenFile, "s3cret\n");
  const urls = ["nats://127.0.0.1:4222", "nats://127.0.0.1:4223"];
  const cases: Array<{ name: string; argv: string[]; env?: NodeJS.ProcessEnv; want?: object; error?: RegExp }> = [
    { name: "--nats list", argv: ["--nats", urls.join(", ")], want: { servers: urls } },
    { name: "$NATS_URL", argv: [], env: { NATS_URL: urls[0] }, want: { servers: [urls[0]] } },
    { name: "--nats wins over the env", argv: ["--nats", urls[1]!], env: { NATS_URL: urls[0] }, want: { servers: [urls[1]] } },
    { name: "empty env is off", argv: [], env: { NATS_URL: "" } },
    { name: "stream and replicas", argv: ["--nats", urls[0]!, "--log-stream", "orders-log", "--log-replicas", "3"], want: { servers: [urls[0]], stream: "orders-log", replicas: 3 } },
    { name: "token file", argv: ["--nats", urls[0]!, "--nats-token-file", tokenFile], want: { servers: [urls[0]], auth: { token: "s3cret" } } },
    { name: "$NATS_TOKEN", argv: ["--nats", urls[0]!], env: { NATS_TOKEN: "t" }, want: { servers: [urls[0]], auth: { token: "t" } } },
    { name: "user/password from env", argv: ["--nats", urls[0]!], env: { NATS_USER: "u", NATS_PASSWORD: "p" }, want: { servers: [urls[0]], auth: { user: "u", pass: "p" } } },
    { name: "not a nats URL", argv: ["--nats", "http://127.0.0.1:4222"], error: /--nats: "http:\/\/127.0.0.1:4222" is not a URL like nats:/ },
    { name: "a password in a bad URL is not echoed", argv: ["--nats", "nats://u:hunter2@h:1/x/y"], error: /^(?!.*hunter2)/ },
    { name: "stream name with a dot", argv: ["--nats", urls[0]!, "--log-stream", "a.b"], error: /--log-stream must be letters, digits/ },
    { name: "replicas 0", argv: ["--nats", urls[0]!, "--log-replicas", "0"], error: /--log-replicas must be 1 to 5/ },
    { name: "--log-stream without --nats", argv: ["--log-stream", "x"], error: /--log-stream needs --nats/ },
  ];
  for (const c of cases) {
    await t.test(c.name, async () => {
      const parsed = parseServerArgs(c.argv, c.env ?? {});
      if (c.error) {
        await assert.rejects(parsed, (err: Error) => c.error!.test(err.message));
        return;
      }
      assert.deepEqual((await parsed).nats, c.want);
    });
  }
});
