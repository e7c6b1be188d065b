import { clone } from "@bufbuild/protobuf";
import { TaskSchema, type Task, type WatchTasksResponse } from "@switchboard/gen/node/v1/node_pb.js";
import type { Watcher } from "../task-master.ts";
import { deliver, endIfFinal, watchQueue, type WatchEntry } from "../watch-queue.ts";

/**
 * The embedded master's WatchTasks streams. Changes are numbered by this
 * process (the sequence is not kept across restarts) and fed to every
 * matching watcher synchronously, in the order they happen.
 */
export class TaskWatchers {
  readonly #limit: number;
  readonly #entries = new Set<WatchEntry>();
  #sequence = 0n;

  /** `limit`: messages a watcher may fall behind before it is ended. */
  constructor(limit: number) {
    this.#limit = limit;
  }

  /**
   * Registers a watcher of `taskId` ("" = every task) whose queue starts with
   * `snapshot` (when `sendInitial`) and the snapshot_done marker; events
   * follow with nothing missed, as long as the caller takes the snapshot in
   * the same synchronous step.
   */
  add(taskId: string, sendInitial: boolean, snapshot: Task[]): Watcher {
    const queue = watchQueue(snapshot, sendInitial, this.#limit);
    const entry = { taskId, queue };
    if (taskId === "" || !endIfFinal(queue, snapshot[0]!, sendInitial)) this.#entries.add(entry);
    return { queue, dispose: () => this.#entries.delete(entry) };
  }

  /** Announces a change of `t` (numbered even when nobody watches). */
  emit(t: Task): void {
    this.#sequence++;
    if (this.#entries.size === 0) return;
    const msg = { task: clone(TaskSchema, t), sequence: this.#sequence, snapshotDone: false } as WatchTasksResponse;
    for (const w of [...this.#entries]) {
      if (w.taskId !== "" && w.taskId !== t.id) continue;
      if (!deliver(w, msg)) this.#entries.delete(w);
    }
  }

  /** Ends every watcher with an error from `err`. */
  close(err: () => unknown): void {
    for (const w of this.#entries) w.queue.close(err());
    this.#entries.clear();
  }
}
