import { pino, type Logger } from "pino";
import { stdoutLineWriter } from "./line-writer.ts";

export type { Logger };

/**
 * Creates the process logger: one JSON object per line on stdout (pino).
 * Secrets never reach it: request payloads and headers are not logged, and
 * callers must not pass tokens as fields.
 */
export function createLogger(level: string = "info", name = "switchboard"): Logger {
  // Lines are collected for up to 5 ms and written with one write(2), instead
  // of one write or one thread-pool round trip per line (see line-writer.ts).
  return pino({ name, level, base: { pid: process.pid } }, stdoutLineWriter());
}

/** A logger that drops everything; for tests and library use. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
