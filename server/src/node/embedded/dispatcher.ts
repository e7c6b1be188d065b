import { clone } from "@bufbuild/protobuf";
import { TaskSchema, TaskState, type Task } from "@switchboard/gen/node/v1/node_pb.js";
import { pickWorker, type Candidate } from "../scheduler.ts";
import { isActive } from "../task-state.ts";
import { sendTask } from "../worker-session.ts";
import type { TaskBook } from "./task-book.ts";
import type { Session } from "./worker-registry.ts";

type SessionCandidate = Candidate & { session: Session };

/** Assigns the embedded master's queued tasks, oldest first, to the least busy matching workers. */
export class Dispatcher {
  readonly #tasks: TaskBook;
  readonly #sessions: ReadonlyMap<string, Session>;
  #assignments = 0;

  constructor(tasks: TaskBook, sessions: ReadonlyMap<string, Session>) {
    this.#tasks = tasks;
    this.#sessions = sessions;
  }

  /** One scheduling pass (synchronous, so it sees every slot as it is). */
  run(): void {
    if (this.#sessions.size === 0) return;
    const candidates = new Map<string, SessionCandidate>();
    for (const s of this.#sessions.values()) {
      candidates.set(s.workerId, {
        id: s.workerId,
        labels: s.labels,
        capacity: s.capacity,
        busy: s.pendingCancel.size,
        draining: s.draining,
        lastAssigned: s.lastAssigned,
        session: s,
      });
    }
    const queued: Task[] = [];
    for (const t of this.#tasks.unfinished.values()) {
      if (t.state === TaskState.QUEUED) queued.push(t);
      else if (isActive(t.state)) {
        const c = candidates.get(t.workerId);
        if (c) c.busy++;
      }
    }
    let free = 0;
    for (const c of candidates.values()) if (!c.draining) free += Math.max(0, c.capacity - c.busy);
    for (const t of queued) {
      if (free === 0) break;
      const c = pickWorker(t.labels, candidates.values()) as SessionCandidate | undefined;
      if (!c) continue;
      this.#tasks.change(t, TaskState.ASSIGNED, { workerId: c.id });
      c.busy++;
      free--;
      c.lastAssigned = c.session.lastAssigned = ++this.#assignments;
      sendTask(c.session.queue, clone(TaskSchema, t));
    }
  }
}
