// The README's REST examples with the real `curl` CLI against a server
// process: curl -X POST …/v1/tasks -d '{…}' (curl's default form content type
// is accepted as JSON, as grpc-gateway does), GET by id, and a streamed
// NDJSON list with -N.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { startServerProcess, type ServerProcess } from "@switchboard/test-harness/server-process";

const run = promisify(execFile);
const token = "curl-test-token";
let server: ServerProcess;
before(async () => {
  server = await startServerProcess({ args: ["--no-request-log", "--auth-token", token] });
});
after(() => server?.cleanup());

/** curl -sS with a status line appended; returns the body and the HTTP status. */
async function curl(...args: string[]): Promise<{ body: string; status: number }> {
  const { stdout } = await run("curl", ["-sS", "-w", "\n%{http_code}", ...args], { timeout: 30_000 });
  const i = stdout.lastIndexOf("\n");
  return { body: stdout.slice(0, i), status: Number(stdout.slice(i + 1)) };
}

test("curl -X POST /v1/tasks -d '{…}', GET /v1/tasks/{id}, :cancel", async () => {
  const denied = await curl("-X", "POST", `${server.url}/v1/tasks`, "-d", '{"command":{"program":"echo","args":["hi"]}}');
  assert.equal(denied.status, 401);
  assert.equal(JSON.parse(denied.body).code, 16);

  const submitted = await curl(
    "-X", "POST", `${server.url}/v1/tasks`,
    "-H", `Authorization: Bearer ${token}`,
    "-d", '{"command":{"program":"echo","args":["hi"]},"timeout":"10s"}',
  );
  assert.equal(submitted.status, 200, submitted.body);
  const { taskId } = JSON.parse(submitted.body) as { taskId: string };
  const got = await curl(`${server.url}/v1/tasks/${taskId}`);
  assert.equal(got.status, 200);
  assert.deepEqual(JSON.parse(got.body).task.command, { program: "echo", args: ["hi"] });

  const cancelled = await curl("-X", "POST", "-H", `Authorization: Bearer ${token}`, `${server.url}/v1/tasks/${taskId}:cancel`);
  assert.equal(cancelled.status, 200, cancelled.body);
  assert.equal(JSON.parse(cancelled.body).task.state, "TASK_STATE_CANCELLED");
});

test("curl GET /v1/orders/102 and -N GET /v1/orders?query=… (NDJSON)", async () => {
  const order = await curl(`${server.url}/v1/orders/102`);
  assert.equal(order.status, 200);
  assert.equal(JSON.parse(order.body).order.destination, "Mountain View, CA");
  const missing = await curl(`${server.url}/v1/orders/404-me`);
  assert.equal(missing.status, 404);

  const list = await curl("-N", `${server.url}/v1/orders?query=apple`);
  assert.equal(list.status, 200);
  const lines = list.body.trim().split("\n").map((l) => JSON.parse(l) as { result: { order: { id: string } } });
  assert.deepEqual(lines.map((l) => l.result.order.id), ["103", "106"]);
});
