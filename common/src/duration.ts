// The one duration parser of the project: the server's flags (--log-retention-age),
// the CLI's --timeout and the worker's --default-timeout, --kill-grace, … all use it.

const unitMs: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export interface DurationOptions {
  /** Named in error messages, e.g. "--log-retention-age"; without it the message names the text. */
  flag?: string;
  /** Smallest accepted value in ms. Default 1 (a duration must be positive). */
  min?: number;
  /** Accept fractions such as "1.5m". Default true. */
  fractions?: boolean;
}

/**
 * "500ms", "90s", "1.5m", "24h", "7d" or a bare number of milliseconds →
 * milliseconds (rounded). Throws an Error naming `flag` for anything else.
 */
export function parseDurationMs(text: string, options: DurationOptions = {}): number {
  const { flag, min = 1, fractions = true } = options;
  const example = "500ms, 90s, 15m, 24h or 7d; a bare number is milliseconds";
  const m = (fractions ? /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/ : /^(\d+)(ms|s|m|h|d)?$/).exec(text.trim());
  if (!m) throw new Error(flag ? `${flag} must be a duration like ${example}, got "${text}"` : `"${text}" is not a duration (e.g. ${example})`);
  const ms = Math.round(Number(m[1]) * unitMs[m[2] ?? "ms"]!);
  if (ms < min) throw new Error(`${flag ?? "duration"} must be ${min === 1 ? "positive" : `at least ${min} ms`}, got "${text}"`);
  return ms;
}
