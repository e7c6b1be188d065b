/** What the scheduler needs to know about a connected worker. */
export interface Candidate {
  id: string;
  labels: Readonly<Record<string, string>>;
  capacity: number;
  /** Tasks occupying a slot (assigned, running, or cancelled but not yet confirmed stopped). */
  busy: number;
  /** Draining workers take no new tasks. */
  draining: boolean;
  /** Increasing number of the last time it was given a task (0 = never); spreads ties round-robin. */
  lastAssigned: number;
}

/** True when the worker has every label of the task, with the same value. */
export function labelsMatch(
  required: Readonly<Record<string, string>>,
  offered: Readonly<Record<string, string>>,
): boolean {
  return Object.entries(required).every(([k, v]) => Object.hasOwn(offered, k) && offered[k] === v);
}

/**
 * Picks the worker for a task: among the workers that are not draining,
 * have a free slot and match ALL the task's labels, the least busy one
 * (fewest tasks; then lowest busy/capacity; then the one given a task
 * longest ago; then by id, so the choice is deterministic). Undefined when
 * no worker fits: the task stays queued.
 */
export function pickWorker(
  taskLabels: Readonly<Record<string, string>>,
  candidates: Iterable<Candidate>,
): Candidate | undefined {
  let best: Candidate | undefined;
  for (const c of candidates) {
    if (c.draining || c.busy >= c.capacity || !labelsMatch(taskLabels, c.labels)) continue;
    if (best === undefined || compare(c, best) < 0) best = c;
  }
  return best;
}

function compare(a: Candidate, b: Candidate): number {
  return (
    a.busy - b.busy ||
    a.busy / a.capacity - b.busy / b.capacity ||
    a.lastAssigned - b.lastAssigned ||
    (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
  );
}
