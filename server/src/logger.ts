import { pino, type Logger } from "pino";

export type { Logger };

/**
 * Creates the process logger: one JSON object per line on stdout (pino).
 * Secrets never reach it: request payloads and headers are not logged, and
 * callers must not pass tokens as fields.
 */
export function createLogger(level: string = "info", name = "switchboard"): Logger {
  return pino({ name, level, base: { pid: process.pid } });
}

/** A logger that drops everything; for tests and library use. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
