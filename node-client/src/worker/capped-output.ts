/**
 * Keeps the first `cap` bytes of a stream and counts the rest, so a task
 * that prints without end cannot exhaust the worker's memory.
 */
export class CappedOutput {
  readonly #cap: number;
  readonly #chunks: Buffer[] = [];
  #kept = 0;
  #total = 0;

  constructor(cap: number) {
    this.#cap = cap;
  }

  write(chunk: Buffer): void {
    this.#total += chunk.length;
    const room = this.#cap - this.#kept;
    if (room <= 0) return;
    const part = chunk.length <= room ? chunk : chunk.subarray(0, room);
    this.#chunks.push(part);
    this.#kept += part.length;
  }

  get truncated(): boolean {
    return this.#total > this.#kept;
  }

  get totalBytes(): number {
    return this.#total;
  }

  /** The kept bytes as UTF-8 (a character cut by the cap becomes U+FFFD). */
  text(): string {
    return Buffer.concat(this.#chunks).toString("utf8");
  }
}
