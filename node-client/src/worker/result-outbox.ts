import { create } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type Client } from "@connectrpc/connect";
import {
  FinishTaskRequestSchema,
  TaskResultSchema,
  TaskState,
  type FinishTaskRequest,
  type NodeService,
  type Task,
} from "@switchboard/gen/node/v1/node_pb.js";
import type { WorkerEvent } from "./options.ts";
import type { RunOutcome } from "./run-process.ts";
import { traceHeaders } from "./trace-headers.ts";
import { isTransient } from "./transient.ts";

/**
 * The results a worker owes the master, by task id, delivered with
 * FinishTask. A result stays until the master took it or refused it for
 * good; while the master is unreachable it waits for the next `flush()`
 * (after a reconnect, a heartbeat, or at stop).
 */
export class ResultOutbox {
  readonly #client: Client<typeof NodeService>;
  readonly #workerId: string;
  readonly #emit: (e: WorkerEvent) => void;
  readonly #pending = new Map<string, { req: FinishTaskRequest; headers: Record<string, string> }>();
  #flushing: Promise<void> | undefined;

  constructor(client: Client<typeof NodeService>, workerId: string, emit: (e: WorkerEvent) => void) {
    this.#client = client;
    this.#workerId = workerId;
    this.#emit = emit;
  }

  /** Results not delivered yet. */
  get size(): number {
    return this.#pending.size;
  }

  /** Ids of the tasks whose results are not delivered yet. */
  taskIds(): IterableIterator<string> {
    return this.#pending.keys();
  }

  /** Records a task's final (or given-back) state and starts delivering it. */
  report(task: Task, state: TaskState, reason: string, outcome?: RunOutcome): void {
    const req = create(FinishTaskRequestSchema, {
      workerId: this.#workerId,
      taskId: task.id,
      attempt: task.attempt,
      state,
      reason,
      result: create(TaskResultSchema, {
        exitCode: outcome?.exitCode ?? -1,
        signal: outcome?.signal ?? "",
        duration: durationFromMs(outcome?.durationMs ?? 0),
        stdout: outcome?.stdout ?? "",
        stderr: outcome?.stderr ?? "",
        stdoutTruncated: outcome?.stdoutTruncated ?? false,
        stderrTruncated: outcome?.stderrTruncated ?? false,
      }),
    });
    // The submitter's W3C trace context goes along with the result.
    this.#pending.set(task.id, { req, headers: traceHeaders(task) });
    this.#emit({ event: "task-finished", taskId: task.id, attempt: task.attempt, state: TaskState[state], reason });
    void this.flush();
  }

  /** Delivers what is pending, in order; one delivery at a time (a second call joins the first). */
  flush(): Promise<void> {
    if (this.#flushing) return this.#flushing;
    if (this.#pending.size === 0) return Promise.resolve();
    this.#flushing = this.#deliver().finally(() => (this.#flushing = undefined));
    return this.#flushing;
  }

  async #deliver(): Promise<void> {
    for (const [taskId, { req, headers }] of [...this.#pending]) {
      try {
        await this.#client.finishTask(req, { timeoutMs: 10_000, headers });
        this.#pending.delete(taskId);
      } catch (err) {
        const e = ConnectError.from(err);
        if (retryable(e.code)) return; // master unreachable: keep it, retry later
        this.#pending.delete(taskId);
        this.#emit({ event: "report-dropped", taskId, error: `${Code[e.code]}: ${e.rawMessage}` });
      }
    }
  }
}

/**
 * Codes after which a report is worth sending again: the worker's transient
 * codes, except RESOURCE_EXHAUSTED — for FinishTask that is the result itself
 * being over the master's limit, which a retry cannot change.
 */
function retryable(code: Code): boolean {
  return code !== Code.ResourceExhausted && isTransient(code);
}
