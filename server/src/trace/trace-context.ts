import { randomFillSync } from "node:crypto";
import { createContextKey } from "@connectrpc/connect";

/**
 * The W3C Trace Context (https://www.w3.org/TR/trace-context/) of one call:
 * the trace it belongs to and the span this server opened for it.
 */
export interface TraceContext {
  /** 32 lower-case hex digits. */
  readonly traceId: string;
  /** This server's span of the call: 16 hex digits (the parent-id of calls made on its behalf). */
  readonly spanId: string;
  /** The caller's span, when it sent a valid traceparent. */
  readonly parentSpanId?: string;
  /** trace-flags, 2 hex digits ("01" = sampled). */
  readonly flags: string;
  /** The caller's tracestate, passed on unchanged. */
  readonly traceState?: string;
}

/** Where interceptors and implementations find the call's trace context (`ctx.values.get(traceKey)`). */
export const traceKey = createContextKey<TraceContext | undefined>(undefined, { description: "W3C trace context" });

const traceparentRe = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

/** The caller's trace from a `traceparent` header, or undefined when it is absent or invalid. */
export function parseTraceparent(
  value: string | null | undefined,
): { traceId: string; parentSpanId: string; flags: string } | undefined {
  if (!value || value.length > 512) return undefined;
  const m = traceparentRe.exec(value.trim());
  if (m === null) return undefined;
  const [, version, traceId, parentSpanId, flags, rest] = m as unknown as [string, string, string, string, string, string?];
  if (version === "ff") return undefined;
  // Version 00 has exactly four fields; later versions may append more.
  if (version === "00" && rest !== undefined) return undefined;
  if (/^0+$/.test(traceId) || /^0+$/.test(parentSpanId)) return undefined;
  return { traceId, parentSpanId, flags };
}

/** The `traceparent` header value of calls made on behalf of `ctx`. */
export function formatTraceparent(ctx: TraceContext): string {
  return `00-${ctx.traceId}-${ctx.spanId}-${ctx.flags}`;
}

/** A tracestate worth passing on: printable ASCII, at most 512 characters (W3C's suggested limit). */
export function validTraceState(value: string | null | undefined): string | undefined {
  if (!value || value.length > 512 || !/^[\x20-\x7e]+$/.test(value)) return undefined;
  return value;
}

/**
 * The context of a call that arrived with these headers: the caller's trace
 * continued with a new span, or a new trace when it sent none (or an invalid
 * one, whose tracestate is then ignored, as the spec says).
 */
export function continueTrace(traceparent: string | null, tracestate: string | null): TraceContext {
  const parent = parseTraceparent(traceparent);
  if (parent === undefined) {
    // One hex conversion for both ids (this runs on every call without a traceparent).
    const ids = randomHex(24, 16);
    return { traceId: ids.slice(0, 32), spanId: ids.slice(32), flags: "00" };
  }
  return {
    traceId: parent.traceId,
    spanId: randomHex(8),
    parentSpanId: parent.parentSpanId,
    flags: parent.flags,
    traceState: validTraceState(tracestate),
  };
}

/**
 * Random ids from a pooled buffer: one randomFillSync per 4 KiB of ids instead
 * of one crypto call per id (ids are made on every call). With `split`, the
 * bytes are two ids (the first `split` bytes and the rest) and neither may be
 * all zero; otherwise the one id may not be (all-zero ids are invalid).
 */
const pool = Buffer.alloc(4096);
let used = pool.length;
export function randomHex(bytes: number, split = bytes): string {
  for (;;) {
    if (used + bytes > pool.length) {
      randomFillSync(pool);
      used = 0;
    }
    const from = used;
    used += bytes;
    if (nonZero(from, from + split) && (split === bytes || nonZero(from + split, used))) {
      return pool.toString("hex", from, used);
    }
  }
}

function nonZero(from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (pool[i] !== 0) return true;
  return false;
}
