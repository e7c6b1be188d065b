import fs from "node:fs";

/**
 * A pino destination that writes the lines logged during one event-loop turn
 * with a single write(2), at the end of that turn (setImmediate).
 *
 * Written by hand because pino's destinations (sonic-boom) offer three
 * shapes and none fits a server that logs one line per RPC:
 * - `sync: true` makes one write(2) per line;
 * - `sync: false` hands every write to libuv's thread pool: at one request at
 *   a time that is a thread hop and an extra event-loop wake-up per line
 *   (measured with the perf bench at 1×1: ≈ 140 µs of server CPU per request,
 *   more than the RPC itself);
 * - `minLength` holds lines until a size is reached, so a quiet server's
 *   lines show up late (or at exit), and its `flushSync` also fsyncs.
 * Here a line waits at most until the end of the current turn: tests and
 * `tail -f` see it as soon as the RPC that logged it has been answered.
 *
 * Writes are synchronous, like Node's own stdout on Linux (files, TTYs and
 * pipes): a reader that stops reading a pipe eventually blocks the server,
 * exactly as `console.log` would. EAGAIN (a non-blocking pipe that is full)
 * is retried after a 1 ms sleep rather than dropping lines.
 */
export class LineWriter {
  private readonly fd: number;
  private lines: string[] = [];
  private scheduled = false;
  private readonly flushNow = () => this.flush();

  /** @param fd the file descriptor to write to (default 1, stdout). */
  constructor(fd = 1) {
    this.fd = fd;
  }

  /** pino calls this with one serialized line (newline included). */
  write(line: string): boolean {
    this.lines.push(line);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flushNow);
    }
    return true;
  }

  /** Writes everything buffered now; called at the end of each turn and on exit. */
  flush(): void {
    this.scheduled = false;
    if (this.lines.length === 0) return;
    const data = Buffer.from(this.lines.length === 1 ? this.lines[0]! : this.lines.join(""), "utf8");
    this.lines = [];
    let off = 0;
    while (off < data.length) {
      try {
        off += fs.writeSync(this.fd, data, off);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== "EAGAIN" && code !== "EBUSY") throw err;
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
      }
    }
  }
}

let stdout: LineWriter | undefined;

/** The process's one stdout LineWriter, flushed when the process exits. */
export function stdoutLineWriter(): LineWriter {
  if (!stdout) {
    const w = new LineWriter(1);
    process.on("exit", () => w.flush());
    stdout = w;
  }
  return stdout;
}
