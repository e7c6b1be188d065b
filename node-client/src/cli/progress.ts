import type { Cli } from "./context.ts";

/**
 * One progress line on stderr for long work (`log produce` from a large
 * stdin, `tasks submit --wait`). Shown by default only when stderr is a
 * terminal and the output is not --json; there it is redrawn in place at most
 * 10 times a second and cleared afterwards. `force` (a --progress /
 * --no-progress flag) overrides the default; when forced on a pipe, each
 * redraw is a line of its own.
 */
export class Progress {
  readonly #cli: Cli;
  readonly #enabled: boolean;
  readonly #tty: boolean;
  readonly #keep: boolean;
  #lastDraw = 0;
  #shown = false;
  #text = "";

  /** `keep`: leave the last line on screen when done (else it is cleared). */
  constructor(cli: Cli, force?: boolean, options: { keep?: boolean } = {}) {
    this.#cli = cli;
    this.#tty = cli.runtime.stderr.isTTY === true;
    this.#enabled = force ?? (this.#tty && !cli.json);
    this.#keep = options.keep ?? true;
  }

  get enabled(): boolean {
    return this.#enabled;
  }

  /** Sets the line; drawn now unless the last draw was under 100 ms ago (`urgent` draws anyway). */
  update(text: string, urgent = false): void {
    this.#text = text;
    const now = Date.now();
    if (!this.#enabled || (!urgent && now - this.#lastDraw < 100)) return;
    this.#lastDraw = now;
    this.#draw();
  }

  /** Draws the last text (so the final count is shown) and ends the line. */
  done(): void {
    if (!this.#enabled || this.#text === "") return;
    if (this.#keep) {
      this.#draw();
      if (this.#tty) this.#cli.runtime.stderr.write("\n");
    } else if (this.#shown && this.#tty) {
      this.#cli.runtime.stderr.write("\r\x1b[K");
    }
  }

  #draw(): void {
    this.#cli.runtime.stderr.write(this.#tty ? `\r\x1b[K${this.#text}` : `${this.#text}\n`);
    this.#shown = true;
  }
}
