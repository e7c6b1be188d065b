import { pino, type Logger } from "pino";

export type { Logger };

/** At most this long between a log line and its write to stdout. */
const flushIntervalMs = 50;

/**
 * Creates the process logger: one JSON object per line on stdout (pino).
 * Secrets never reach it: request payloads and headers are not logged, and
 * callers must not pass tokens as fields.
 */
export function createLogger(level: string = "info", name = "switchboard"): Logger {
  // Asynchronous stdout: lines written while a write is in flight are batched
  // into the next one, instead of one blocking write(2) per line (measured:
  // about 5% of server CPU under unary load, one line per RPC). pino flushes
  // the buffer synchronously when the process exits.
  // Lines are also held until 4 KiB are buffered or 50 ms have passed: with
  // one request-log line per RPC, a write per line (a libuv thread-pool
  // round trip each) cost ≈ 20 % of the server's CPU per call at 1×1 load
  // (bench/README.md, perf section).
  const dest = pino.destination({ dest: 1, sync: false, minLength: 4096 });
  const timer = setInterval(() => {
    // Without a callback: flush() then adds no listeners (with one it adds a
    // 'drain' listener per call while a write is in flight). It throws once
    // the destination is destroyed, which only happens at exit.
    try {
      dest.flush();
    } catch {}
  }, flushIntervalMs).unref();
  dest.once("close", () => clearInterval(timer));
  return pino({ name, level, base: { pid: process.pid } }, dest);
}

/** A logger that drops everything; for tests and library use. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
