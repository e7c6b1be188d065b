import { Code, ConnectError } from "@connectrpc/connect";
import type { Task, WatchTasksResponse } from "@switchboard/gen/node/v1/node_pb.js";
import type { PgDb } from "../../db/pg-db.ts";
import { decodeTask, finalStatesSql } from "../store/postgres.ts";
import type { Watcher } from "../task-master.ts";
import { deliver, endIfFinal, watchQueue, type WatchEntry } from "../watch-queue.ts";

const eventBatch = 500;

interface ClusterWatcher extends WatchEntry {
  cursor: bigint;
  pumping: boolean;
  again: boolean;
}

/**
 * This instance's WatchTasks streams. Each reads task_events after its own
 * cursor (`pump`), whenever the events channel says there are new rows.
 */
export class ClusterWatchers {
  readonly #db: PgDb;
  readonly #limit: number;
  /** Runs a pump in the background (its failure is logged). */
  readonly #background: (p: Promise<unknown>, what: string) => void;
  readonly #entries = new Set<ClusterWatcher>();

  constructor(db: PgDb, limit: number, background: (p: Promise<unknown>, what: string) => void) {
    this.#db = db;
    this.#limit = limit;
    this.#background = background;
  }

  /**
   * The snapshot and the cursor come from one REPEATABLE READ transaction;
   * since events commit in sequence order, the changes after the cursor are
   * exactly those the snapshot does not show. With `afterSequence` the watch
   * replays from there instead (no snapshot).
   */
  async open(taskId: string, sendInitial: boolean, afterSequence: bigint): Promise<Watcher> {
    const resume = afterSequence > 0n;
    const { snapshot, cursor } = await this.#db.tx(async (c) => {
      const max = await c.query<{ seq: string }>("SELECT coalesce(max(seq), 0) AS seq FROM task_events");
      let tasks: Task[] = [];
      if (taskId !== "") {
        const r = await c.query<{ data: Uint8Array }>("SELECT data FROM tasks WHERE id = $1", [taskId]);
        if (!r.rows[0]) throw new ConnectError(`task ${taskId} not found`, Code.NotFound);
        tasks = [decodeTask(r.rows[0].data)];
      } else if (sendInitial && !resume) {
        const r = await c.query<{ data: Uint8Array }>(`SELECT data FROM tasks WHERE state NOT IN (${finalStatesSql}) ORDER BY seq`);
        tasks = r.rows.map((row) => decodeTask(row.data));
      }
      if (resume) {
        const pruned = await c.query<{ value: string }>("SELECT value FROM meta WHERE key = 'task_events_pruned_below'");
        const below = BigInt(pruned.rows[0]?.value ?? "0");
        if (afterSequence + 1n < below) {
          throw new ConnectError(
            `changes before sequence ${below} are no longer kept: watch again with send_initial`,
            Code.OutOfRange,
          );
        }
      }
      return { snapshot: tasks, cursor: resume ? afterSequence : BigInt(max.rows[0]!.seq) };
    }, "REPEATABLE READ");
    const initial = sendInitial && !resume;
    const queue = watchQueue(snapshot, initial, this.#limit);
    const w: ClusterWatcher = { taskId, queue, cursor, pumping: false, again: false };
    if (taskId === "" || resume || !endIfFinal(queue, snapshot[0]!, initial)) {
      this.#entries.add(w);
      // Also catches changes whose notification came before the registration.
      this.#background(this.#pump(w), "watch");
    }
    return { queue, dispose: () => this.#entries.delete(w) };
  }

  /** New events may be there: every watcher reads on. */
  pumpAll(): void {
    for (const w of this.#entries) this.#background(this.#pump(w), "watch");
  }

  /** Ends every watcher with an error from `err`. */
  close(err: () => unknown): void {
    for (const w of this.#entries) w.queue.close(err());
    this.#entries.clear();
  }

  /** Sends every change after its cursor to a watcher (coalesced: one run at a time, another if asked meanwhile). */
  async #pump(w: ClusterWatcher): Promise<void> {
    if (w.pumping) {
      w.again = true;
      return;
    }
    w.pumping = true;
    try {
      do {
        w.again = false;
        for (;;) {
          const r = await this.#db.query<{ seq: string; data: Uint8Array }>(
            `SELECT seq, data FROM task_events WHERE seq > $1 AND ($2 = '' OR task_id = $2) ORDER BY seq LIMIT ${eventBatch}`,
            [w.cursor.toString(), w.taskId],
          );
          for (const row of r.rows) {
            if (!this.#entries.has(w)) return;
            const task = decodeTask(row.data);
            w.cursor = BigInt(row.seq);
            if (!deliver(w, { task, sequence: w.cursor, snapshotDone: false } as WatchTasksResponse)) {
              this.#entries.delete(w);
              return;
            }
          }
          if (r.rows.length < eventBatch) break;
        }
      } while (w.again && this.#entries.has(w));
    } finally {
      w.pumping = false;
    }
  }
}
