import { NodeStatus, type Node } from "@switchboard/gen/node/v1/node_pb.js";

/**
 * Which of the master's workers could take a task with `labels`, computed
 * from ListNodes the way the scheduler decides (server/src/node/scheduler.ts):
 * a worker takes tasks while it is ONLINE (not draining or offline) and must
 * have every label of the task with the same value.
 */
export interface WorkerMatch {
  /** ONLINE workers. */
  connected: Node[];
  /** Connected workers that have all the labels. */
  matching: Node[];
  /** Matching workers with a free slot. */
  free: Node[];
}

export function matchWorkers(nodes: readonly Node[], labels: Record<string, string>): WorkerMatch {
  const connected = nodes.filter((n) => n.status === NodeStatus.ONLINE);
  const matching = connected.filter((n) => Object.entries(labels).every(([k, v]) => n.labels[k] === v));
  const free = matching.filter((n) => n.runningTaskIds.length < n.capacity);
  return { connected, matching, free };
}

/** "zone=a,gpu=yes", or "no labels". */
export function labelList(labels: Record<string, string>): string {
  const entries = Object.entries(labels).sort(([a], [b]) => a.localeCompare(b));
  return entries.length === 0 ? "no labels" : entries.map(([k, v]) => `${k}=${v}`).join(",");
}

/**
 * Why a queued task with `labels` is not running, in one sentence; undefined
 * when a matching worker has a free slot (the task is about to be assigned).
 */
export function whyQueued(nodes: readonly Node[], labels: Record<string, string>): string | undefined {
  const m = matchWorkers(nodes, labels);
  if (m.connected.length === 0) return "no worker is connected to the master; start one with `switchboard worker`";
  if (m.matching.length === 0) {
    const workers = m.connected.map((n) => `${n.id} (${labelList(n.labels)})`).join(", ");
    return `no connected worker has the labels ${labelList(labels)}; connected workers: ${workers}`;
  }
  if (m.free.length === 0) {
    const busy = m.matching.map((n) => `${n.id} ${n.runningTaskIds.length}/${n.capacity}`).join(", ");
    return `every matching worker is busy (${busy}); it runs when one has a free slot`;
  }
  return undefined;
}
