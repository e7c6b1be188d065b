import { test } from "node:test";
import assert from "node:assert/strict";
import { defaultServerOptions, parseServerArgs } from "../config.ts";

test("metrics flags: defaults, --no-metrics, --metrics-port, --metrics-public", async () => {
  assert.equal(defaultServerOptions.metrics, true);
  assert.equal(defaultServerOptions.metricsPort, undefined, "same port by default");
  assert.equal(defaultServerOptions.metricsPublic, false);
  assert.deepEqual(await parseServerArgs([], {}), {});
  assert.equal((await parseServerArgs(["--no-metrics"], {})).metrics, false);
  assert.equal((await parseServerArgs(["--metrics-port", "9464"], {})).metricsPort, 9464);
  assert.equal((await parseServerArgs(["--metrics-port", "0"], {})).metricsPort, 0);
  assert.equal((await parseServerArgs(["--metrics-public"], {})).metricsPublic, true);
  await assert.rejects(parseServerArgs(["--metrics-port", "http"], {}), /--metrics-port must be a non-negative integer/);
});
