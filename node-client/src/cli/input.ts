import { createReadStream } from "node:fs";
import { access, constants } from "node:fs/promises";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { UsageError } from "./exit-codes.ts";

/** One non-blank input line and its 1-based line number. */
export interface InputLine {
  text: string;
  lineNo: number;
}

/**
 * Opens `--file F` ("-" or undefined = stdin). A missing file is a usage
 * error raised before anything is sent. On an interactive terminal a hint
 * tells the person how to end the input.
 */
export async function openInput(
  file: string | undefined,
  stdin: Readable & { isTTY?: boolean },
  hint: (text: string) => void,
): Promise<{ name: string; stream: Readable }> {
  if (file === undefined || file === "-") {
    if (stdin.isTTY) hint("reading from the terminal: one item per line, Ctrl-D to finish, Ctrl-C to cancel");
    return { name: "stdin", stream: stdin };
  }
  try {
    await access(file, constants.R_OK);
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return { name: file, stream: createReadStream(file) };
}

/**
 * Yields the non-blank lines of a stream (LF or CRLF), as they arrive. An
 * abort of `signal` (Ctrl-C) ends the lines early.
 */
export async function* readLines(stream: Readable, signal?: AbortSignal): AsyncGenerator<InputLine> {
  const rl = createInterface({ input: stream, crlfDelay: Infinity });
  const stop = () => rl.close();
  signal?.addEventListener("abort", stop, { once: true });
  let lineNo = 0;
  try {
    for await (const text of rl) {
      lineNo++;
      if (text.trim() === "") continue;
      yield { text, lineNo };
    }
  } finally {
    signal?.removeEventListener("abort", stop);
    rl.close();
  }
}

/** Parses a line as JSON or throws a usage error naming the line. */
export function parseJsonLine(line: InputLine, source: string): unknown {
  try {
    return JSON.parse(line.text);
  } catch (err) {
    throw new UsageError(`${source} line ${line.lineNo}: not JSON: ${(err as Error).message}`);
  }
}

/**
 * Wraps a request generator so that an input error stops the upload (the
 * RPC is cancelled, so an atomic call commits nothing) and is remembered:
 * the command reports the input error (exit 2) rather than the cancellation.
 */
export class InputGuard {
  error: unknown;

  wrap<T>(source: AsyncIterable<T>, controller: AbortController): AsyncIterable<T> {
    const self = this;
    return (async function* () {
      try {
        yield* source;
      } catch (err) {
        self.error = err;
        controller.abort(err);
        // Wait for the abort to tear the call down rather than half-closing,
        // which the server would take as "input complete".
        await new Promise(() => {});
      }
    })();
  }

  /** Rethrows the input error if there was one, else `err`. */
  rethrow(err: unknown): never {
    throw this.error ?? err;
  }
}

/** Adds an extra abort source (the input guard's) to call options. */
export function withAbort<T extends { signal?: AbortSignal }>(options: T, controller: AbortController): T {
  return { ...options, signal: options.signal ? AbortSignal.any([options.signal, controller.signal]) : controller.signal };
}
