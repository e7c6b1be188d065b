import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { durationMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient, type Client, type Transport } from "@connectrpc/connect";
import { NodeService, TaskState, type Task } from "@switchboard/gen/node/v1/node_pb.js";
import { bearerTokenInterceptor } from "@switchboard/common/bearer-token";
import { createTransport } from "../transport.ts";
import { parseAllowList, refusal, resolveProgram } from "./allowlist.ts";
import { Backoff } from "@switchboard/common/backoff";
import { fatalHint, isTransient } from "./transient.ts";
import { childEnv } from "./child-env.ts";
import { workerDefaults, type WorkerEvent, type WorkerOptions } from "./options.ts";
import { ResultOutbox } from "./result-outbox.ts";
import { runProcess } from "./run-process.ts";
import { traceHeaders } from "./trace-headers.ts";

/** Version reported to the master. */
export const workerVersion = "0.1.0";

/** A started worker. */
export interface RunningWorker {
  readonly id: string;
  /** Ids of the tasks running now. */
  running(): string[];
  /**
   * Graceful stop (SIGTERM): takes no new tasks (reports draining), lets
   * running tasks finish for up to drainTimeoutMs, kills the rest and gives
   * them back to the master (re-queued), delivers pending results, closes.
   * Idempotent.
   */
  stop(): Promise<void>;
  /** Resolves when the worker has stopped. */
  readonly done: Promise<void>;
  /**
   * The error that stopped the worker on its own: the master answered the
   * AssignTask stream with a non-transient code (UNAUTHENTICATED,
   * PERMISSION_DENIED, …; see transient.ts). Undefined after a normal stop.
   */
  failure(): ConnectError | undefined;
}

interface RunningTask {
  task: Task;
  stop: AbortController;
  /** The master no longer wants this run's result. */
  abandoned: boolean;
  finished: Promise<void>;
}

const giveBack = Symbol("give back");
const cancelled = Symbol("cancelled");

/** Starts a worker: connects to the master and runs the tasks it assigns. */
export async function startWorker(options: WorkerOptions): Promise<RunningWorker> {
  const o = { ...workerDefaults, ...stripUndefined(options) };
  const id = o.id ?? `${os.hostname()}-${process.pid}`;
  const labels = { ...o.labels };
  const allow = parseAllowList(o.allow ?? []);
  const emit = (e: WorkerEvent) => o.onEvent?.(e);
  if (!Number.isInteger(o.capacity) || o.capacity < 1) throw new Error("capacity must be a positive integer");
  const ownWorkdir = o.workdir === undefined;
  const workdir = o.workdir ?? mkdtempSync(path.join(os.tmpdir(), "switchboard-worker-"));
  mkdirSync(workdir, { recursive: true, mode: 0o700 });

  let closeTransport = async () => {};
  let transport: Transport;
  if (o.transport) {
    transport = o.transport;
  } else {
    if (!o.serverUrl) throw new Error("serverUrl (or transport) is required");
    const t = createTransport({
      baseUrl: o.serverUrl,
      protocol: o.protocol,
      interceptors: o.token ? [bearerTokenInterceptor(o.token)] : [],
    });
    transport = t;
    closeTransport = () => t.close();
  }
  const client: Client<typeof NodeService> = createClient(NodeService, transport);
  emit({ event: "started", workerId: id, capacity: o.capacity, workdir });

  const tasks = new Map<string, RunningTask>();
  const outbox = new ResultOutbox(client, id, emit);
  const lifetime = new AbortController();
  let draining = false;
  let stream: AbortController | undefined;
  /** The stream the master has confirmed (`registered`); heartbeats only go out while there is one. */
  let registeredStream: AbortController | undefined;
  let workerTimeoutMs = 15_000;
  let lastHeartbeatOk = Date.now();
  /** The non-transient error that stopped the worker, if one did. */
  let fatal: ConnectError | undefined;

  // ─── running tasks ────────────────────────────────────────────────────
  const run = async (task: Task, rt: RunningTask) => {
    const program = task.command?.program ?? "";
    const refused = refusal(allow, program);
    if (refused) return outbox.report(task, TaskState.FAILED, refused);
    const dir = path.join(workdir, `${task.id}-${task.attempt}`);
    const env = childEnv({ inheritEnv: o.inheritEnv, env: o.env }, { id: task.id, attempt: task.attempt, dir });
    // The task's own calls (e.g. the CLI) continue the submitter's trace.
    if (task.traceparent !== "") env.TRACEPARENT = task.traceparent;
    if (task.tracestate !== "") env.TRACESTATE = task.tracestate;
    const file = resolveProgram(program, env.PATH ?? "");
    if (!file) return outbox.report(task, TaskState.FAILED, `program not found: ${program}`);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    try {
      const timeoutMs = task.timeout ? durationMs(task.timeout) : o.defaultTimeoutMs;
      const running = runProcess({
        file,
        args: task.command?.args ?? [],
        cwd: dir,
        env,
        timeoutMs,
        killGraceMs: o.killGraceMs,
        maxOutputBytes: o.maxOutputBytes,
        signal: rt.stop.signal,
      });
      emit({ event: "task-started", taskId: task.id, attempt: task.attempt });
      // Awaited before the result is reported, so the master always sees
      // RUNNING before the final state.
      const acknowledged = client
        .startTask({ workerId: id, taskId: task.id, attempt: task.attempt }, { timeoutMs: 10_000, headers: traceHeaders(task) })
        .catch((err) => {
          // The master gave the task to someone else or it was cancelled: stop it, drop its result.
          if (ConnectError.from(err).code === Code.FailedPrecondition) {
            rt.abandoned = true;
            rt.stop.abort(cancelled);
          }
        });
      const out = await running;
      await acknowledged;
      if (rt.abandoned) return;
      if (out.spawnError) return outbox.report(task, TaskState.FAILED, `could not start ${program}: ${out.spawnError}`, out);
      if (out.stopped === giveBack) {
        return outbox.report(task, TaskState.QUEUED, `worker ${id} stopped before the task finished`, out);
      }
      if (out.stopped !== undefined) return outbox.report(task, TaskState.CANCELLED, "cancelled", out);
      if (out.timedOut) {
        return outbox.report(task, TaskState.FAILED, `time limit of ${timeoutMs}ms exceeded: process group killed`, out);
      }
      if (out.exitCode === 0) return outbox.report(task, TaskState.SUCCEEDED, "", out);
      const why = out.signal ? `killed by ${out.signal}` : `exited with code ${out.exitCode}`;
      return outbox.report(task, TaskState.FAILED, why, out);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };

  const accept = (task: Task) => {
    if (tasks.has(task.id)) return;
    if (draining || tasks.size >= o.capacity) {
      outbox.report(task, TaskState.QUEUED, draining ? `worker ${id} is draining` : `worker ${id} is full`);
      return;
    }
    const rt: RunningTask = { task, stop: new AbortController(), abandoned: false, finished: Promise.resolve() };
    rt.finished = run(task, rt)
      .catch((err) => outbox.report(task, TaskState.FAILED, `worker error: ${(err as Error).message}`))
      .finally(() => tasks.delete(task.id));
    tasks.set(task.id, rt);
  };

  const cancel = (taskId: string) => {
    const rt = tasks.get(taskId);
    if (!rt) return;
    rt.stop.abort(cancelled);
  };

  // ─── heartbeats ───────────────────────────────────────────────────────
  const heartbeat = async () => {
    const current = registeredStream;
    if (!current) return;
    try {
      await client.reportStatus(
        {
          workerId: id,
          runningTaskIds: [...tasks.keys()],
          capacity: o.capacity,
          load: os.loadavg()[0] ?? 0,
          version: workerVersion,
          draining,
        },
        { timeoutMs: Math.max(1000, o.heartbeatIntervalMs * 2) },
      );
      lastHeartbeatOk = Date.now();
    } catch (err) {
      // Not registered (master restarted) or unreachable for too long: reconnect.
      // Only the stream this heartbeat was about: a newer one may already be registered.
      const e = ConnectError.from(err);
      if (current === registeredStream && (e.code === Code.FailedPrecondition || Date.now() - lastHeartbeatOk > workerTimeoutMs)) {
        current.abort();
      }
    }
  };
  const beat = setInterval(() => {
    if (registeredStream) {
      void heartbeat();
      void outbox.flush();
    }
  }, o.heartbeatIntervalMs);

  // ─── the AssignTask stream, reconnected with backoff ──────────────────
  let onRegistered: (() => void) | undefined;
  const registered = new Promise<void>((r) => (onRegistered = r));
  const loop = (async () => {
    const reconnect = new Backoff({ initialMs: 200, maxMs: 10_000, ...o.backoff });
    while (!lifetime.signal.aborted) {
      const ac = new AbortController();
      stream = ac;
      let error = "stream ended";
      try {
        const responses = client.assignTask(
          {
            workerId: id,
            labels,
            capacity: o.capacity,
            version: workerVersion,
            hostname: os.hostname(),
            runningTaskIds: [...new Set([...tasks.keys(), ...outbox.taskIds()])],
          },
          { signal: ac.signal, timeoutMs: 0 },
        );
        for await (const msg of responses) {
          switch (msg.action.case) {
            case "registered":
              reconnect.reset();
              registeredStream = ac;
              lastHeartbeatOk = Date.now();
              if (msg.action.value.workerTimeout) workerTimeoutMs = durationMs(msg.action.value.workerTimeout);
              emit({ event: "connected", workerId: id });
              onRegistered?.();
              if (draining) void heartbeat();
              void outbox.flush();
              break;
            case "task":
              accept(msg.action.value);
              break;
            case "cancelTaskId":
              cancel(msg.action.value);
              break;
          }
        }
      } catch (err) {
        const e = ConnectError.from(err);
        error = e.message;
        if (!lifetime.signal.aborted && !isTransient(e.code)) {
          // A wrong token or a server without the node service: stop instead of retrying forever.
          fatal = e;
          stream = undefined;
          registeredStream = undefined;
          emit({ event: "fatal", workerId: id, code: Code[e.code] ?? String(e.code), error: e.rawMessage, hint: fatalHint(e.code) });
          setImmediate(() => void stop()); // `stop` is defined below this loop
          break;
        }
      }
      stream = undefined;
      registeredStream = undefined;
      if (lifetime.signal.aborted) break;
      const delay = reconnect.next();
      emit({ event: "disconnected", workerId: id, error, retryInMs: delay });
      await sleep(delay, lifetime.signal);
    }
  })();

  // ─── stop ─────────────────────────────────────────────────────────────
  let stopping: Promise<void> | undefined;
  let resolveDone: () => void = () => {};
  const done = new Promise<void>((r) => (resolveDone = r));
  const stop = () =>
    (stopping ??= (async () => {
      try {
        await o.onStopping?.();
      } catch (err) {
        emit({ event: "hook-failed", hook: "onStopping", error: (err as Error).message });
      }
      draining = true;
      emit({ event: "draining", running: tasks.size });
      await heartbeat();
      const all = () => Promise.all([...tasks.values()].map((t) => t.finished));
      const waited = new AbortController();
      const drained = await Promise.race([all().then(() => true), sleep(o.drainTimeoutMs, waited.signal).then(() => false)]);
      waited.abort();
      if (!drained) {
        for (const rt of tasks.values()) rt.stop.abort(giveBack);
        await all();
      }
      // Deliver what is pending, for a bounded time.
      const deadline = Date.now() + 10_000;
      while (outbox.size > 0 && Date.now() < deadline) {
        await outbox.flush();
        if (outbox.size > 0) await sleep(200);
      }
      lifetime.abort();
      stream?.abort();
      clearInterval(beat);
      await loop;
      await closeTransport();
      if (ownWorkdir) rmSync(workdir, { recursive: true, force: true });
      emit({ event: "stopped" });
      resolveDone();
    })());

  // After the first registration, in the background: start-up does not wait
  // for the master (the caller can install its signal handlers at once).
  if (o.onStarted) {
    const onStarted = o.onStarted;
    void Promise.race([registered.then(() => true), done.then(() => false)]).then(async (ok) => {
      if (!ok) return;
      try {
        await onStarted({ id, labels });
      } catch (err) {
        emit({ event: "hook-failed", hook: "onStarted", error: (err as Error).message });
        void stop();
      }
    });
  }

  return { id, running: () => [...tasks.keys()], stop, done, failure: () => fatal };
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      "abort",
      () => {
        clearTimeout(t);
        resolve();
      },
      { once: true },
    );
  });
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
