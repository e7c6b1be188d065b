// NodeService end to end: one real server process (the master, with a bearer
// token) and two real `switchboard worker` processes with different labels.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { NodeService, NodeStatus, TaskState } from "@switchboard/gen/node/v1/node_pb.js";
import { fieldViolations } from "@switchboard/server/errors";
import { repoRoot, startServerProcess, type ServerProcess } from "@switchboard/test-harness/server-process";
import { startWorkerProcess, type WorkerProcess } from "@switchboard/test-harness/worker-process";
import { processGone, watchToEnd, watchUntil } from "@switchboard/test-harness/node-tasks";
import { eventually } from "@switchboard/test-harness/eventually";

const token = "cluster-test-token";
const auth = { headers: { authorization: `Bearer ${token}` } };
const workerFlags = ["--heartbeat-interval", "300ms", "--kill-grace", "500ms"];

describe("NodeService: a master and two workers", () => {
  let server: ServerProcess;
  let workerA: WorkerProcess;
  let workerB: WorkerProcess;
  let client: Client<typeof NodeService>;
  let scratch: string;
  let session: Http2SessionManager;

  before(async () => {
    scratch = mkdtempSync(path.join(tmpdir(), "switchboard-node-test-"));
    server = await startServerProcess({
      args: ["--services", "node", "--auth-token", token, "--worker-timeout", "5000", "--no-request-log"],
    });
    const common = { serverUrl: server.url, token, capacity: 2, allow: ["echo", "sleep", "sh"], args: workerFlags };
    workerA = startWorkerProcess({ ...common, id: "worker-a", labels: { zone: "a" } });
    // worker-b talks the Connect protocol (HTTP/2), worker-a gRPC.
    workerB = startWorkerProcess({ ...common, id: "worker-b", labels: { zone: "b", gpu: "yes" }, args: [...workerFlags, "--protocol", "connect"] });
    session = new Http2SessionManager(server.url);
    client = createClient(NodeService, createGrpcTransport({ baseUrl: server.url, sessionManager: session }));
    await Promise.all([workerA, workerB].map((w) => w.waitForEvent((e) => e.event === "connected")));
  });

  after(async () => {
    session?.abort();
    await Promise.all([workerA?.cleanup(), workerB?.cleanup()]);
    await server?.cleanup();
    rmSync(scratch, { recursive: true, force: true });
  });

  test("ListNodes shows both workers online with their labels and capacity", async () => {
    const { nodes } = await client.listNodes({});
    assert.deepEqual(
      nodes.map((n) => [n.id, n.status, n.capacity, n.labels]),
      [
        ["worker-a", NodeStatus.ONLINE, 2, { zone: "a" }],
        ["worker-b", NodeStatus.ONLINE, 2, { zone: "b", gpu: "yes" }],
      ],
    );
  });

  test("SubmitTask without the token is UNAUTHENTICATED (also over curl-style Connect JSON); with it, OK", async () => {
    const req = { command: { program: "echo", args: ["x"] } };
    await assert.rejects(client.submitTask(req), (err: ConnectError) => err.code === Code.Unauthenticated);
    await assert.rejects(
      client.submitTask(req, { headers: { authorization: "Bearer wrong-token" } }),
      (err: ConnectError) => err.code === Code.Unauthenticated && !err.message.includes("wrong-token"),
    );
    const res = await fetch(`${server.url}/node.v1.NodeService/SubmitTask`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(req),
    });
    assert.equal(res.status, 401);
    assert.equal(((await res.json()) as { code: string }).code, "unauthenticated");
    const ok = await fetch(`${server.url}/node.v1.NodeService/SubmitTask`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify(req),
    });
    assert.equal(ok.status, 200);
    const { taskId } = (await ok.json()) as { taskId: string };
    assert.equal((await watchToEnd(client, taskId)).task.state, TaskState.SUCCEEDED);
  });

  test("an invalid task is INVALID_ARGUMENT with field violations", async () => {
    const err = await client
      .submitTask({ command: { program: "", args: ["a\0b"] }, timeout: { seconds: -1n } }, auth)
      .then(() => undefined, (e: unknown) => ConnectError.from(e));
    assert.equal(err?.code, Code.InvalidArgument);
    assert.deepEqual(fieldViolations(err!).map((v) => v.field).sort(), ["command.args[0]", "command.program", "timeout"]);
  });

  test("tasks spread over both workers and report their output", async () => {
    const ids = await Promise.all(
      Array.from({ length: 6 }, (_, i) => client.submitTask({ command: { program: "echo", args: [`task ${i}`] } }, auth)),
    );
    const done = await Promise.all(ids.map((r) => watchToEnd(client, r.taskId)));
    done.forEach(({ task }, i) => {
      assert.equal(task.state, TaskState.SUCCEEDED, task.reason);
      assert.equal(task.result?.stdout, `task ${i}\n`);
      assert.equal(task.result?.exitCode, 0);
      assert.equal(task.attempt, 1);
      assert.ok(task.createdAt && task.assignedAt && task.startedAt && task.finishedAt);
    });
    assert.deepEqual(new Set(done.map((d) => d.task.workerId)), new Set(["worker-a", "worker-b"]));
  });

  test("a task whose labels match only one worker runs there; unmatched labels stay queued", async () => {
    const gpu = await Promise.all(
      [1, 2, 3].map(() => client.submitTask({ command: { program: "echo", args: ["gpu"] }, labels: { gpu: "yes" } }, auth)),
    );
    for (const { taskId } of gpu) {
      const { task } = await watchToEnd(client, taskId);
      assert.equal(task.state, TaskState.SUCCEEDED);
      assert.equal(task.workerId, "worker-b");
    }
    const zoneA = await client.submitTask({ command: { program: "echo", args: ["a"] }, labels: { zone: "a" } }, auth);
    assert.equal((await watchToEnd(client, zoneA.taskId)).task.workerId, "worker-a");

    const nowhere = await client.submitTask({ command: { program: "echo" }, labels: { zone: "c" } }, auth);
    // Every other task finished meanwhile, both workers are idle: still queued.
    const { task } = await client.getTask({ taskId: nowhere.taskId });
    assert.equal(task?.state, TaskState.QUEUED);
    const cancelled = await client.cancelTask({ taskId: nowhere.taskId, reason: "no such zone" }, auth);
    assert.equal(cancelled.task?.state, TaskState.CANCELLED);
    assert.equal(cancelled.task?.reason, "no such zone");
  });

  test("a program that is not allowed fails with the reason and nothing runs", async () => {
    const marker = path.join(scratch, "touched");
    for (const program of ["touch", "/usr/bin/touch", "/bin/sh"]) {
      const { taskId } = await client.submitTask({ command: { program, args: [marker] } }, auth);
      const { task } = await watchToEnd(client, taskId);
      assert.equal(task.state, TaskState.FAILED);
      assert.equal(task.reason, `program not allowed: ${program}`);
      assert.equal(task.result?.exitCode, -1);
      assert.equal(task.startedAt, undefined, "never RUNNING");
    }
    assert.equal(existsSync(marker), false, "the disallowed program must not have run");
  });

  test("a task over its time limit is killed with its whole process group and FAILED", async () => {
    const pidFile = path.join(scratch, "timeout-child.pid");
    const { taskId } = await client.submitTask(
      {
        // The grandchild (a background sleep) must die too.
        command: { program: "sh", args: ["-c", `sleep 30 & echo $! > ${pidFile}; wait`] },
        timeout: { seconds: 2n },
      },
      auth,
    );
    const { task } = await watchToEnd(client, taskId);
    assert.equal(task.state, TaskState.FAILED);
    assert.match(task.reason, /time limit of 2000ms exceeded/);
    assert.equal(task.result?.signal, "SIGTERM");
    const grandchild = Number(readFileSync(pidFile, "utf8"));
    assert.ok(grandchild > 0);
    await eventually(() => processGone(grandchild), 10_000, `sleep ${grandchild} to die`);
  });

  test("CancelTask of a running task kills it and marks it CANCELLED", async () => {
    const pidFile = path.join(scratch, "cancel-child.pid");
    const { taskId } = await client.submitTask(
      { command: { program: "sh", args: ["-c", `sleep 30 & echo $! > ${pidFile}; wait`] } },
      auth,
    );
    await watchUntil(client, taskId, TaskState.RUNNING);
    const grandchild = await eventually(() => {
      const text = existsSync(pidFile) ? readFileSync(pidFile, "utf8").trim() : "";
      return text ? Number(text) : undefined;
    });
    await assert.rejects(client.cancelTask({ taskId }), (err: ConnectError) => err.code === Code.Unauthenticated);
    const res = await client.cancelTask({ taskId }, auth);
    assert.equal(res.task?.state, TaskState.CANCELLED);
    assert.equal(res.task?.reason, "cancelled by a user");
    await eventually(() => processGone(grandchild), 10_000, `sleep ${grandchild} to die`);
    // The worker confirms: the stopped run's result is attached to the task.
    const result = await eventually(async () => (await client.getTask({ taskId })).task?.result, 10_000, "the result");
    assert.equal(result.signal, "SIGTERM");
    assert.equal((await client.getTask({ taskId })).task?.state, TaskState.CANCELLED);
    await assert.rejects(client.cancelTask({ taskId }, auth), (err: ConnectError) => err.code === Code.FailedPrecondition);
    await assert.rejects(client.cancelTask({ taskId: "no-such-task" }, auth), (err: ConnectError) => err.code === Code.NotFound);
  });

  test("GetTask, ListTasks (filters, pages) and WatchTasks of an unknown task", async () => {
    await assert.rejects(client.getTask({ taskId: "no-such-task" }), (err: ConnectError) => err.code === Code.NotFound);
    await assert.rejects(
      (async () => {
        for await (const _ of client.watchTasks({ taskId: "no-such-task" })) break;
      })(),
      (err: ConnectError) => err.code === Code.NotFound,
    );
    const all = (await client.listTasks({ pageSize: 1000 })).tasks;
    assert.ok(all.length >= 10);
    const sorted = [...all].sort((a, b) => Number(b.createdAt!.seconds - a.createdAt!.seconds));
    assert.deepEqual(all.map((t) => t.createdAt!.seconds), sorted.map((t) => t.createdAt!.seconds), "newest first");
    // Paging through worker-b's succeeded tasks two at a time yields each once.
    const paged: string[] = [];
    let pageToken = "";
    do {
      const page = await client.listTasks({ states: [TaskState.SUCCEEDED], workerId: "worker-b", pageSize: 2, pageToken });
      assert.ok(page.tasks.length <= 2);
      for (const t of page.tasks) {
        assert.equal(t.state, TaskState.SUCCEEDED);
        assert.equal(t.workerId, "worker-b");
      }
      paged.push(...page.tasks.map((t) => t.id));
      pageToken = page.nextPageToken;
    } while (pageToken !== "");
    const expected = all.filter((t) => t.state === TaskState.SUCCEEDED && t.workerId === "worker-b").map((t) => t.id);
    assert.deepEqual(paged, expected);
    await assert.rejects(client.listTasks({ pageToken: "garbage!" }), (err: ConnectError) => err.code === Code.InvalidArgument);
    await assert.rejects(client.listTasks({ pageSize: 5000 }), (err: ConnectError) => err.code === Code.InvalidArgument);
  });

  test("an independent gRPC client (grpc-js + the .proto file) submits with metadata and watches to the end", async () => {
    const def = protoLoader.loadSync("node/v1/node.proto", { includeDirs: [path.join(repoRoot, "proto"), path.join(repoRoot, "node_modules/google-proto-files")], defaults: true, enums: String });
    type Js = { state: string; workerId: string; result?: { stdout: string; exitCode: number } };
    const pkg = grpc.loadPackageDefinition(def) as unknown as {
      node: { v1: { NodeService: new (addr: string, creds: grpc.ChannelCredentials) => grpc.Client & {
        submitTask(req: object, md: grpc.Metadata, cb: (err: grpc.ServiceError | null, res: { taskId: string }) => void): void;
        watchTasks(req: object): grpc.ClientReadableStream<{ task?: Js; sequence: string; snapshotDone: boolean }>;
      } } };
    };
    const js = new pkg.node.v1.NodeService(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure());
    try {
      const submit = (md: grpc.Metadata) =>
        new Promise<string>((resolve, reject) =>
          js.submitTask({ command: { program: "echo", args: ["from", "grpc-js"] }, timeout: { seconds: 30 } }, md, (err, res) =>
            err ? reject(err) : resolve(res.taskId),
          ),
        );
      await assert.rejects(submit(new grpc.Metadata()), (err: grpc.ServiceError) => err.code === grpc.status.UNAUTHENTICATED);
      const md = new grpc.Metadata();
      md.set("authorization", `Bearer ${token}`);
      const taskId = await submit(md);
      const states: string[] = [];
      let last: Js | undefined;
      for await (const msg of js.watchTasks({ taskId, sendInitial: true }) as AsyncIterable<{ task?: Js }>) {
        if (!msg.task) continue;
        states.push(msg.task.state);
        last = msg.task;
      }
      // The watch of one task ends by itself after the final state.
      assert.equal(states.at(-1), "TASK_STATE_SUCCEEDED");
      assert.equal(last?.result?.stdout, "from grpc-js\n");
    } finally {
      js.close();
    }
  });

  test("WatchTasks streams every state change in order (Connect JSON over HTTP/1.1 too)", async () => {
    const watcher = createClient(
      NodeService,
      createConnectTransport({ baseUrl: server.url, httpVersion: "1.1", useBinaryFormat: false }),
    );
    const ac = new AbortController();
    const seen: Array<{ id: string; state: TaskState; sequence: bigint }> = [];
    let markSynced!: () => void;
    const synced = new Promise<void>((r) => (markSynced = r));
    const ids: string[] = [];
    let markDone!: () => void;
    const allDone = new Promise<void>((r) => (markDone = r));
    const reading = (async () => {
      try {
        for await (const msg of watcher.watchTasks({ sendInitial: true }, { signal: ac.signal })) {
          if (msg.snapshotDone) markSynced();
          if (!msg.task || msg.sequence === 0n) continue;
          seen.push({ id: msg.task.id, state: msg.task.state, sequence: msg.sequence });
          const finished = ids.filter((id) => seen.some((s) => s.id === id && s.state === TaskState.SUCCEEDED));
          if (ids.length === 3 && finished.length === 3) markDone();
        }
      } catch (err) {
        if (!ac.signal.aborted) throw err;
      }
    })();
    await synced;
    for (const word of ["one", "two", "three"]) {
      ids.push((await client.submitTask({ command: { program: "echo", args: [word] } }, auth)).taskId);
    }
    await allDone;
    ac.abort();
    await reading;
    for (const id of ids) {
      assert.deepEqual(
        seen.filter((s) => s.id === id).map((s) => s.state),
        [TaskState.QUEUED, TaskState.ASSIGNED, TaskState.RUNNING, TaskState.SUCCEEDED],
      );
    }
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i]!.sequence > seen[i - 1]!.sequence, "sequence increases");
  });
});
