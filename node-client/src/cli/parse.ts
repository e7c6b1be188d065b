// Value parsers for command-line arguments. Each throws commander's
// InvalidArgumentError, which the CLI reports as a usage error (exit 2).
import { InvalidArgumentError } from "commander";
import { readFileSync } from "node:fs";
import { TaskState } from "@switchboard/gen/node/v1/node_pb.js";
import { parseDurationMs as parseDuration } from "@switchboard/common/duration";
import { protocols, type Protocol } from "../transport.ts";

/** "500ms", "30s", "1.5m", "2h", "1d" or a bare number of milliseconds → milliseconds (> 0); see @switchboard/common/duration. */
export function parseDurationMs(text: string): number {
  try {
    return parseDuration(text);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

/** A log offset: a non-negative integer (uint64). */
export function parseOffset(text: string): bigint {
  if (!/^\d+$/.test(text.trim())) throw new InvalidArgumentError(`"${text}" is not an offset (a non-negative integer)`);
  const n = BigInt(text.trim());
  if (n > 0xffff_ffff_ffff_ffffn) throw new InvalidArgumentError(`offset ${text} does not fit in 64 bits`);
  return n;
}

/** A positive integer such as a page size. */
export function parsePositiveInt(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n <= 0) {
    throw new InvalidArgumentError(`"${text}" is not a positive integer`);
  }
  return n;
}

/** "key=value" → [key, value]; the key must not be empty. */
export function parseLabel(text: string): [string, string] {
  const i = text.indexOf("=");
  if (i <= 0) throw new InvalidArgumentError(`"${text}" is not a label (key=value)`);
  return [text.slice(0, i), text.slice(i + 1)];
}

/** Commander collector for repeatable `--label k=v`. */
export function collectLabel(text: string, previous: Record<string, string> = {}): Record<string, string> {
  const [k, v] = parseLabel(text);
  return { ...previous, [k]: v };
}

/** Commander collector for repeatable options. */
export function collect<T>(parse: (s: string) => T) {
  return (text: string, previous: T[] = []): T[] => [...previous, parse(text)];
}

/** US dollars as typed by a person ("12", "12.5", "12.50", "$1,200.00") → cents, exactly (no floating point). */
export function parsePriceCents(text: string): bigint {
  const m = /^\$?(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{1,2}))?$/.exec(text.trim());
  if (!m) throw new InvalidArgumentError(`"${text}" is not a price in dollars (e.g. 12.50)`);
  const dollars = BigInt(m[1]!.replaceAll(",", ""));
  const cents = BigInt((m[2] ?? "0").padEnd(2, "0"));
  return dollars * 100n + cents;
}

/** "queued", "QUEUED" or "TASK_STATE_QUEUED" → TaskState.QUEUED. */
export function parseTaskState(text: string): TaskState {
  const name = text.trim().toUpperCase().replace(/^TASK_STATE_/, "");
  const value = (TaskState as unknown as Record<string, unknown>)[name];
  if (typeof value !== "number" || value === TaskState.UNSPECIFIED) {
    const known = Object.keys(TaskState).filter((k) => Number.isNaN(Number(k)) && k !== "UNSPECIFIED");
    throw new InvalidArgumentError(`"${text}" is not a task state (${known.map((k) => k.toLowerCase()).join(", ")})`);
  }
  return value as TaskState;
}

/** "grpc" | "connect" | "grpc-web". */
export function parseProtocol(text: string): Protocol {
  if (!(protocols as readonly string[]).includes(text)) {
    throw new InvalidArgumentError(`"${text}" is not a protocol (${protocols.join(", ")})`);
  }
  return text as Protocol;
}

/** An http(s) URL of a server. */
export function parseServerUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new InvalidArgumentError(`"${text}" is not a URL (e.g. http://localhost:8080)`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new InvalidArgumentError(`"${text}": the server URL must start with http:// or https://`);
  }
  return text.replace(/\/+$/, "");
}

/** Comma-separated etcd endpoints → list. */
export function parseEndpoints(text: string): string[] {
  const list = text.split(",").map((s) => s.trim()).filter(Boolean);
  if (list.length === 0) throw new InvalidArgumentError("name at least one etcd endpoint (e.g. http://127.0.0.1:2379)");
  return list;
}

/** Short service names accepted by `health`: order → order.v1.OrderService. */
export const serviceAliases: Record<string, string> = {
  order: "order.v1.OrderService",
  orders: "order.v1.OrderService",
  log: "log.v1.LogService",
  node: "node.v1.NodeService",
  nodes: "node.v1.NodeService",
  tasks: "node.v1.NodeService",
};

/**
 * `--token-file FILE`: the bearer token is the file's content without
 * surrounding whitespace, so it never appears in a process listing (`ps`).
 * The error names the file, never its content.
 */
export function readTokenFile(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new InvalidArgumentError(`cannot read token file "${file}": ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const token = text.trim();
  if (token === "") throw new InvalidArgumentError(`token file "${file}" is empty`);
  return token;
}
