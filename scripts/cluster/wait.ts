import { readFileSync } from "node:fs";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Polls `check` every `intervalMs` until it returns a value other than
 * undefined/false, `alive()` turns false (throws with `diagnose()`), or
 * `timeoutMs` passes (throws).
 */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  opts: { timeoutMs?: number; intervalMs?: number; alive?: () => boolean; diagnose?: () => string } = {},
): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 20_000);
  let last = "";
  for (;;) {
    if (opts.alive && !opts.alive()) throw new Error(`${what}: the process exited${opts.diagnose ? `\n${opts.diagnose()}` : ""}`);
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not ready after ${opts.timeoutMs ?? 20_000} ms${last ? ` (${last})` : ""}${opts.diagnose ? `\n${opts.diagnose()}` : ""}`);
    await sleep(opts.intervalMs ?? 100);
  }
}

/** GET `url` with a short timeout; the body as text, or throws. */
export async function httpGet(url: string, timeoutMs = 1000): Promise<string> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  const body = await res.text();
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status} ${body.slice(0, 200)}`);
  return body;
}

/** The last `n` characters of a log file ("" when unreadable). */
export function tail(file: string, n = 1500): string {
  try {
    return readFileSync(file, "utf8").slice(-n);
  } catch {
    return "";
  }
}
