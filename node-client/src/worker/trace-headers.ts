import type { Task } from "@switchboard/gen/node/v1/node_pb.js";

/** W3C trace headers that continue the trace the task was submitted in (none when it has none). */
export function traceHeaders(task: Task): Record<string, string> {
  const h: Record<string, string> = {};
  if (task.traceparent !== "") h.traceparent = task.traceparent;
  if (task.tracestate !== "") h.tracestate = task.tracestate;
  return h;
}
