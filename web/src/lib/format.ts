import type { Timestamp, Duration } from "@bufbuild/protobuf/wkt";

const usd = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD" });

/** 180000n → "$1,800.00". */
export function formatCents(cents: bigint): string {
  return usd.format(Number(cents) / 100);
}

/** "12.5" → 1250n; undefined when it is not an amount with at most 2 decimals. */
export function parseDollars(text: string): bigint | undefined {
  const t = text.trim().replace(/^\$/, "").replace(/,/g, "");
  if (t === "") return 0n;
  const m = /^(-?)(\d+)(?:\.(\d{1,2}))?$/.exec(t);
  if (!m) return undefined;
  const cents = BigInt(m[2]!) * 100n + BigInt((m[3] ?? "").padEnd(2, "0"));
  return m[1] ? -cents : cents;
}

export function timestampDate(ts: Timestamp | undefined): Date | undefined {
  if (!ts) return undefined;
  return new Date(Number(ts.seconds) * 1000 + Math.floor(ts.nanos / 1e6));
}

/** "3 s ago", "5 min ago", or a date for older times. */
export function formatAgo(ts: Timestamp | undefined, now = Date.now()): string {
  const d = timestampDate(ts);
  if (!d) return "—";
  const s = Math.round((now - d.getTime()) / 1000);
  if (s < 2) return "just now";
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  return d.toLocaleString();
}

export function formatTime(ts: Timestamp | undefined): string {
  const d = timestampDate(ts);
  return d ? d.toLocaleTimeString() : "—";
}

/** Duration → "1.23 s" / "45 ms". */
export function formatDuration(d: Duration | undefined): string {
  if (!d) return "—";
  const ms = Number(d.seconds) * 1000 + d.nanos / 1e6;
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

const decoder = new TextDecoder("utf-8", { fatal: false });

/** A record's bytes as text; JSON is pretty-printed on one line. */
export function recordText(value: Uint8Array): { text: string; json: boolean } {
  const text = decoder.decode(value);
  const trimmed = text.trim();
  if (trimmed.startsWith("{") || trimmed.startsWith("[")) {
    try {
      return { text: JSON.stringify(JSON.parse(trimmed)), json: true };
    } catch {
      // Not JSON after all; show as text.
    }
  }
  return { text, json: false };
}
