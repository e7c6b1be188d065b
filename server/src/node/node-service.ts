import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import { NodeService, type AssignTaskResponse, type WatchTasksResponse } from "@switchboard/gen/node/v1/node_pb.js";
import { abortReason, invalidArgument } from "../errors.ts";
import { formatTraceparent, traceKey } from "../trace/trace-context.ts";
import type { EventQueue } from "../event-queue.ts";
import type { TaskMaster } from "./task-master.ts";
import { validateSubmit, validateWorkerId } from "./validate.ts";

/** What the service needs besides the master. */
export interface NodeServiceDeps {
  /** Throws UNAUTHENTICATED unless the request carries the server's bearer token. */
  authorize(header: Headers): void;
  /** Aborted when the server shuts down: worker streams that end then keep their tasks. */
  shutdownSignal: AbortSignal;
}

const maxPageSize = 1000;

/** node.v1.NodeService on top of the master's state machine. */
export function nodeService(master: TaskMaster, deps: NodeServiceDeps): ServiceImpl<typeof NodeService> {
  const { authorize } = deps;
  const workerId = (id: string) => {
    const v = validateWorkerId(id);
    if (v.length > 0) throw invalidArgument("invalid worker id", v);
  };

  return {
    async submitTask(req, ctx) {
      authorize(ctx.requestHeader);
      const v = validateSubmit(req);
      if (v.length > 0) throw invalidArgument("invalid task", v);
      const trace = ctx.values.get(traceKey);
      const context = trace && { traceparent: formatTraceparent(trace), tracestate: trace.traceState };
      return { taskId: (await master.submit(req, context)).id };
    },

    async *assignTask(req, ctx) {
      authorize(ctx.requestHeader);
      workerId(req.workerId);
      if (req.capacity < 1) {
        throw invalidArgument("invalid worker", [{ field: "capacity", description: "must be at least 1", reason: "OUT_OF_RANGE" }]);
      }
      const session = await master.connect(req);
      let reason = "stream ended";
      try {
        yield* drain<AssignTaskResponse>(session.queue, ctx);
      } catch (err) {
        reason = ConnectError.from(err).rawMessage;
        throw err;
      } finally {
        // The client went away, the stream failed, or the server is stopping.
        await master.disconnect(session, `worker ${req.workerId} disconnected (${reason})`, !deps.shutdownSignal.aborted);
      }
    },

    async reportStatus(req, ctx) {
      authorize(ctx.requestHeader);
      workerId(req.workerId);
      await master.heartbeat(req);
      return {};
    },

    async startTask(req, ctx) {
      authorize(ctx.requestHeader);
      workerId(req.workerId);
      await master.start(req.workerId, req.taskId, req.attempt);
      return {};
    },

    async finishTask(req, ctx) {
      authorize(ctx.requestHeader);
      workerId(req.workerId);
      await master.finish(req);
      return {};
    },

    async cancelTask(req, ctx) {
      authorize(ctx.requestHeader);
      if (req.taskId === "") throw invalidArgument("invalid request", [{ field: "task_id", description: "is required", reason: "REQUIRED" }]);
      return { task: await master.cancel(req.taskId, req.reason) };
    },

    async getTask(req) {
      if (req.taskId === "") throw invalidArgument("invalid request", [{ field: "task_id", description: "is required", reason: "REQUIRED" }]);
      const task = await master.get(req.taskId);
      if (!task) throw new ConnectError(`task ${req.taskId} not found`, Code.NotFound);
      return { task };
    },

    async listTasks(req) {
      if (req.pageSize > maxPageSize) {
        throw invalidArgument("invalid request", [{ field: "page_size", description: `at most ${maxPageSize}`, reason: "OUT_OF_RANGE" }]);
      }
      let before: number | undefined;
      if (req.pageToken !== "") {
        before = Number(Buffer.from(req.pageToken, "base64url").toString("utf8"));
        if (!Number.isSafeInteger(before) || before <= 0) {
          throw invalidArgument("invalid request", [{ field: "page_token", description: "is not a token from ListTasks", reason: "INVALID_FORMAT" }]);
        }
      }
      const page = await master.list({ states: req.states, workerId: req.workerId, before, limit: req.pageSize || 100 });
      return {
        tasks: page.tasks,
        nextPageToken: page.next === undefined ? "" : Buffer.from(String(page.next)).toString("base64url"),
      };
    },

    async *watchTasks(req, ctx) {
      const watcher = await master.watch(req.taskId, req.sendInitial, req.afterSequence);
      try {
        yield* drain<WatchTasksResponse>(watcher.queue, ctx);
      } finally {
        watcher.dispose();
      }
    },

    async listNodes() {
      return { nodes: await master.nodes() };
    },
  };
}

/**
 * Yields a queue's messages until it closes (return), fails (throw) or the
 * call's signal aborts — client gone, deadline, server shutdown — which ends
 * the stream with abortReason (CANCELED, DEADLINE_EXCEEDED, UNAVAILABLE).
 */
async function* drain<T>(queue: EventQueue<T>, ctx: HandlerContext): AsyncGenerator<T> {
  for (;;) {
    const msg = await queue.next(ctx.signal);
    if (msg === undefined) return;
    yield msg;
    if (ctx.signal.aborted) throw abortReason(ctx.signal);
  }
}
