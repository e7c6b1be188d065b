// Human-readable formatting of messages and tables (the --json output uses
// toJson instead).
import type { Duration, Timestamp } from "@bufbuild/protobuf/wkt";
import { NodeStatus, TaskState, type Task } from "@switchboard/gen/node/v1/node_pb.js";

/** 180000n → "$1,800.00". */
export function formatCents(cents: bigint): string {
  const sign = cents < 0n ? "-" : "";
  const abs = cents < 0n ? -cents : cents;
  const dollars = (abs / 100n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return `${sign}$${dollars}.${(abs % 100n).toString().padStart(2, "0")}`;
}

/** Lays out rows under headers, columns separated by two spaces. */
export function formatTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(headers), ...rows.map(line)].join("\n") + "\n";
}

/** "key: value" lines with the keys aligned. */
export function formatDetails(pairs: Array<[string, string]>): string {
  const width = Math.max(...pairs.map(([k]) => k.length));
  return pairs.map(([k, v]) => `${(k + ":").padEnd(width + 1)} ${v}`).join("\n") + "\n";
}

/** A record value as text when it is valid UTF-8 without control characters, else "base64:…". */
export function formatBytes(value: Uint8Array): string {
  try {
    const text = new TextDecoder("utf-8", { fatal: true }).decode(value);
    // eslint-disable-next-line no-control-regex
    if (!/[\x00-\x08\x0b-\x1f\x7f]/.test(text)) return text.replaceAll("\n", "\\n");
  } catch {
    // not UTF-8: fall through
  }
  return `base64:${Buffer.from(value).toString("base64")}`;
}

/** google.protobuf.Duration → "1.5s", "250ms", "2m30s". */
export function formatDuration(d: Duration | undefined): string {
  if (!d) return "-";
  const ms = Number(d.seconds) * 1000 + Math.round(d.nanos / 1e6);
  if (ms < 1000) return `${ms}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms % 1000 === 0 ? 0 : 1)}s`;
  const m = Math.floor(ms / 60_000);
  const s = Math.round((ms % 60_000) / 1000);
  return s === 0 ? `${m}m` : `${m}m${s}s`;
}

/** Milliseconds → google.protobuf.Duration fields. */
export function durationFromMs(ms: number): { seconds: bigint; nanos: number } {
  return { seconds: BigInt(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1e6 };
}

/** google.protobuf.Timestamp → ISO 8601 in UTC, "-" when unset. */
export function formatTime(t: Timestamp | undefined): string {
  if (!t) return "-";
  return new Date(Number(t.seconds) * 1000 + Math.floor(t.nanos / 1e6)).toISOString();
}

/** TaskState.SUCCEEDED → "SUCCEEDED". */
export function taskStateName(s: TaskState): string {
  return TaskState[s] ?? String(s);
}

/** NodeStatus.ONLINE → "ONLINE". */
export function nodeStatusName(s: NodeStatus): string {
  return NodeStatus[s] ?? String(s);
}

/** True for SUCCEEDED, FAILED and CANCELLED. */
export function isFinal(s: TaskState): boolean {
  return s === TaskState.SUCCEEDED || s === TaskState.FAILED || s === TaskState.CANCELLED;
}

/** "k=v,k2=v2" or "-". */
export function formatLabels(labels: Record<string, string>): string {
  const entries = Object.entries(labels).sort(([a], [b]) => a.localeCompare(b));
  return entries.length === 0 ? "-" : entries.map(([k, v]) => `${k}=${v}`).join(",");
}

/** The command line of a task, arguments quoted when they contain spaces. */
export function formatCommand(task: Task): string {
  const c = task.command;
  if (!c) return "-";
  return [c.program, ...c.args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(" ");
}
