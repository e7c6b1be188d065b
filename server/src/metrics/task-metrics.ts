import { timestampMs } from "@bufbuild/protobuf/wkt";
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { NodeStatus, TaskState, type Node, type WatchTasksResponse } from "@switchboard/gen/node/v1/node_pb.js";
import { isFinal } from "../node/task-state.ts";

/** What the task metrics follow: the master's watch and node list (sync today; async works too). */
export interface TaskSource {
  watch(taskId: string, sendInitial: boolean):
    | { queue: { next(signal: AbortSignal): Promise<WatchTasksResponse | undefined> }; dispose(): void }
    | Promise<{ queue: { next(signal: AbortSignal): Promise<WatchTasksResponse | undefined> }; dispose(): void }>;
  nodes(): Node[] | Promise<Node[]>;
}

const liveStates = [TaskState.QUEUED, TaskState.ASSIGNED, TaskState.RUNNING];
const stateName = (s: TaskState) => (TaskState[s] ?? "UNSPECIFIED").toLowerCase();

/**
 * Task metrics, fed by a watcher of every task change (the master's own
 * WatchTasks feed), so the master itself needs no metric code.
 */
export class TaskMetrics {
  readonly #registry: Registry;
  constructor(registry: Registry) {
    this.#registry = registry;
  }

  /** Follows `source` until `signal` aborts. Call once (NodeService open). */
  follow(source: TaskSource, signal: AbortSignal): void {
    const live = new Map<string, TaskState>();
    new Gauge({
      name: "switchboard_tasks",
      help: "Unfinished tasks by state (queued, assigned, running).",
      labelNames: ["state"],
      registers: [this.#registry],
      collect() {
        const counts = new Map(liveStates.map((s) => [s, 0]));
        for (const s of live.values()) counts.set(s, (counts.get(s) ?? 0) + 1);
        for (const [s, n] of counts) this.set({ state: stateName(s) }, n);
      },
    });
    const finished = new Counter({
      name: "switchboard_tasks_finished_total",
      help: "Tasks that reached a final state (succeeded, failed, canceled) since the server started.",
      labelNames: ["state"],
      registers: [this.#registry],
    });
    for (const s of [TaskState.SUCCEEDED, TaskState.FAILED, TaskState.CANCELLED]) finished.inc({ state: stateName(s) }, 0);
    new Gauge({
      name: "switchboard_workers_connected",
      help: "Workers with an open AssignTask stream (online or draining).",
      registers: [this.#registry],
      async collect() {
        const nodes = await source.nodes();
        this.set(nodes.filter((n) => n.status === NodeStatus.ONLINE || n.status === NodeStatus.DRAINING).length);
      },
    });
    const dispatch = new Histogram({
      name: "switchboard_task_dispatch_seconds",
      help: "Time from a task's submission to its start on a worker (per attempt), in seconds.",
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers: [this.#registry],
    });

    const run = async () => {
      while (!signal.aborted) {
        // A watcher that falls too far behind is closed by the master; a new
        // one starts from a fresh snapshot of the unfinished tasks.
        let watcher;
        try {
          watcher = await source.watch("", true);
        } catch {
          return; // the master is closed
        }
        let snapshotDone = false;
        live.clear();
        try {
          for (;;) {
            const msg = await watcher.queue.next(signal);
            if (msg === undefined) break;
            if (msg.snapshotDone) snapshotDone = true;
            const t = msg.task;
            if (t === undefined) continue;
            const before = live.get(t.id);
            if (isFinal(t.state)) {
              live.delete(t.id);
              if (snapshotDone) finished.inc({ state: stateName(t.state) });
              continue;
            }
            live.set(t.id, t.state);
            if (snapshotDone && t.state === TaskState.RUNNING && before !== TaskState.RUNNING && t.createdAt && t.startedAt) {
              dispatch.observe(Math.max(0, timestampMs(t.startedAt) - timestampMs(t.createdAt)) / 1000);
            }
          }
        } catch {
          // aborted (shutdown) or overflowed: the loop condition decides
        } finally {
          watcher.dispose();
        }
        if (!signal.aborted) await new Promise((r) => setTimeout(r, 100));
      }
    };
    void run();
  }
}
