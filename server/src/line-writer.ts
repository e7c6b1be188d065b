import fs from "node:fs";

/** Options of a {@link LineWriter}. */
export interface LineWriterOptions {
  /** File descriptor to write to. Default 1 (stdout). */
  fd?: number;
  /** A line waits at most this long before it is written. Default 5 ms. */
  maxDelayMs?: number;
  /** Write at once when this many characters are waiting. Default 64 Ki. */
  maxBufferedChars?: number;
}

/**
 * A pino destination that collects log lines and writes them with one
 * write(2) when the first of them is `maxDelayMs` old (or when
 * `maxBufferedChars` are waiting).
 *
 * Written by hand because pino's destinations (sonic-boom) offer three
 * shapes and none fits a server that logs one line per RPC:
 * - `sync: true` makes one write(2) per line;
 * - `sync: false` hands every write to libuv's thread pool: at one request at
 *   a time that is a thread hop and an extra event-loop wake-up per line
 *   (measured with the perf bench at 1×1: ≈ 140 µs of server CPU per request,
 *   more than the RPC itself);
 * - `minLength` holds lines until a size is reached, so a quiet server's
 *   lines show up late (or only at exit), and its `flushSync` also fsyncs.
 * Here a line is never later than `maxDelayMs`, and a busy server makes one
 * write per few milliseconds instead of one per RPC (perf bench, gRPC unary
 * 1×1: the request log costs ≈ 40 µs per request with a write per line).
 *
 * Writes are synchronous, like Node's own stdout on Linux (files, TTYs and
 * pipes): a reader that stops reading a pipe eventually blocks the server,
 * exactly as `console.log` would. EAGAIN (a non-blocking pipe that is full)
 * is retried after a 1 ms sleep rather than dropping lines. Any other write
 * error (EPIPE: the reader went away, as in `npm start | head`) must not take
 * the server down: the writer reports it once on stderr and drops the lines
 * from then on. Lines still waiting when the process is killed with SIGKILL
 * are lost (at most `maxDelayMs` worth); `stdoutLineWriter()` flushes on a
 * normal exit.
 */
export class LineWriter {
  private readonly fd: number;
  private readonly maxDelayMs: number;
  private readonly maxBufferedChars: number;
  private lines: string[] = [];
  private chars = 0;
  private timer: NodeJS.Timeout | undefined;
  private failed: Error | undefined;
  private readonly flushNow = () => this.flush();

  constructor(options: LineWriterOptions = {}) {
    this.fd = options.fd ?? 1;
    this.maxDelayMs = options.maxDelayMs ?? 5;
    this.maxBufferedChars = options.maxBufferedChars ?? 64 * 1024;
  }

  /** pino calls this with one serialized line (newline included). */
  write(line: string): boolean {
    if (this.failed) return true;
    this.lines.push(line);
    this.chars += line.length;
    if (this.chars >= this.maxBufferedChars) this.flush();
    else if (this.timer === undefined) this.timer = setTimeout(this.flushNow, this.maxDelayMs).unref();
    return true;
  }

  /** The write error that stopped this writer, if any. */
  get error(): Error | undefined {
    return this.failed;
  }

  /** Writes everything waiting now; called by the timer, when the buffer is full, and on exit. */
  flush(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.lines.length === 0) return;
    const text = this.lines.join("");
    this.lines = [];
    this.chars = 0;
    // The string is written as it is (Node encodes it in native code) rather
    // than through Buffer.from: that allocated a new ArrayBuffer per flush
    // once the batch passed Buffer's 4 KiB pool, garbage on every busy flush.
    // Only a partial write (rare: a full pipe) needs the bytes to resume from.
    let data: Buffer | undefined;
    let off = 0;
    for (;;) {
      try {
        if (data === undefined) {
          off = fs.writeSync(this.fd, text);
          if (off >= Buffer.byteLength(text)) return;
          data = Buffer.from(text, "utf8");
        } else {
          off += fs.writeSync(this.fd, data, off);
        }
        if (off >= data.length) return;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== "EAGAIN" && code !== "EBUSY") {
          this.failed = err as Error;
          process.stderr.write(`log lines are dropped from now on: writing to fd ${this.fd} failed: ${this.failed.message}\n`);
          return;
        }
        Atomics.wait(sleepCell, 0, 0, 1); // sleep 1 ms
      }
    }
  }
}

/** Never notified: Atomics.wait on it is a plain synchronous sleep. */
const sleepCell = new Int32Array(new SharedArrayBuffer(4));

let stdout: LineWriter | undefined;

/** The process's one stdout LineWriter, flushed when the process exits. */
export function stdoutLineWriter(): LineWriter {
  if (!stdout) {
    const w = new LineWriter({ fd: 1 });
    process.on("exit", () => w.flush());
    stdout = w;
  }
  return stdout;
}
