import type { SubmitTaskRequest } from "@switchboard/gen/node/v1/node_pb.js";
import type { FieldViolation } from "../errors.ts";

/** Limits of a submitted task (documented in the README). */
export const taskLimits = {
  programChars: 4096,
  args: 1024,
  argChars: 65_536,
  labels: 32,
  labelChars: 256,
  /** Longest time limit: 7 days. */
  maxTimeoutSeconds: 7 * 24 * 3600,
} as const;

/** Field violations of a SubmitTask request; empty when it is valid. */
export function validateSubmit(req: SubmitTaskRequest): FieldViolation[] {
  const v: FieldViolation[] = [];
  const cmd = req.command;
  if (cmd === undefined) {
    v.push({ field: "command", description: "is required", reason: "REQUIRED" });
  } else {
    if (cmd.program === "") {
      v.push({ field: "command.program", description: "is required", reason: "REQUIRED" });
    } else if (cmd.program.length > taskLimits.programChars) {
      v.push({ field: "command.program", description: `longer than ${taskLimits.programChars} characters`, reason: "TOO_LONG" });
    } else if (cmd.program.includes("\0")) {
      v.push({ field: "command.program", description: "contains a NUL character", reason: "INVALID_FORMAT" });
    }
    if (cmd.args.length > taskLimits.args) {
      v.push({ field: "command.args", description: `more than ${taskLimits.args} arguments`, reason: "TOO_MANY" });
    }
    cmd.args.slice(0, taskLimits.args).forEach((a, i) => {
      if (a.length > taskLimits.argChars) {
        v.push({ field: `command.args[${i}]`, description: `longer than ${taskLimits.argChars} characters`, reason: "TOO_LONG" });
      } else if (a.includes("\0")) {
        v.push({ field: `command.args[${i}]`, description: "contains a NUL character", reason: "INVALID_FORMAT" });
      }
    });
  }
  if (req.timeout !== undefined) {
    const { seconds, nanos } = req.timeout;
    if (seconds < 0n || nanos < 0 || (seconds === 0n && nanos === 0)) {
      v.push({ field: "timeout", description: "must be positive", reason: "OUT_OF_RANGE" });
    } else if (seconds > BigInt(taskLimits.maxTimeoutSeconds)) {
      v.push({ field: "timeout", description: `at most ${taskLimits.maxTimeoutSeconds}s`, reason: "OUT_OF_RANGE" });
    }
  }
  const labels = Object.entries(req.labels);
  if (labels.length > taskLimits.labels) {
    v.push({ field: "labels", description: `more than ${taskLimits.labels} labels`, reason: "TOO_MANY" });
  }
  for (const [k, val] of labels.slice(0, taskLimits.labels)) {
    if (k === "" || k.length > taskLimits.labelChars || val.length > taskLimits.labelChars) {
      v.push({
        field: `labels[${JSON.stringify(k)}]`,
        description: `key must be 1–${taskLimits.labelChars} characters, value at most ${taskLimits.labelChars}`,
        reason: "INVALID_FORMAT",
      });
    }
  }
  return v;
}

/** Violations of a worker id (AssignTask, ReportStatus, StartTask, FinishTask). */
export function validateWorkerId(id: string, field = "worker_id"): FieldViolation[] {
  if (id === "") return [{ field, description: "is required", reason: "REQUIRED" }];
  if (id.length > 253 || !/^[A-Za-z0-9][A-Za-z0-9._:@-]*$/.test(id)) {
    return [{ field, description: "must be 1–253 characters of letters, digits and . _ : @ -", reason: "INVALID_FORMAT" }];
  }
  return [];
}
