import { normalizePrefix } from "./endpoint-record.ts";

export { defaultWorkerPrefix, normalizePrefix } from "./endpoint-record.ts";

/** What a worker node registers under `<prefix>/<id>` (JSON). */
export interface WorkerRecord {
  id: string;
  labels: Record<string, string>;
  /** "host:port" of the worker's own server, or "". */
  address: string;
  instanceId: string;
  /** ISO 8601. */
  startTime: string;
}

/** The registration key of a worker. */
export function workerKey(prefix: string, id: string): string {
  if (id === "" || id.includes("/")) throw new Error(`worker id must be non-empty and without "/": "${id}"`);
  return `${normalizePrefix(prefix)}/${id}`;
}

/** Parses one worker registration; undefined for anything else under the prefix. */
export function decodeWorker(prefix: string, key: string, value: string): WorkerRecord | undefined {
  const root = normalizePrefix(prefix) + "/";
  if (!key.startsWith(root)) return undefined;
  const id = key.slice(root.length);
  if (id === "" || id.includes("/")) return undefined;
  try {
    const v = JSON.parse(value) as Partial<WorkerRecord>;
    const labels: Record<string, string> = {};
    if (v.labels && typeof v.labels === "object") {
      for (const [k, l] of Object.entries(v.labels)) if (typeof l === "string") labels[k] = l;
    }
    return {
      id,
      labels,
      address: typeof v.address === "string" ? v.address : "",
      instanceId: typeof v.instanceId === "string" ? v.instanceId : "",
      startTime: typeof v.startTime === "string" ? v.startTime : "",
    };
  } catch {
    return undefined;
  }
}
