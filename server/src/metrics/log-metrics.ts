import { Gauge, type Registry } from "prom-client";
import { CounterCells, HistogramCells, type CounterCell, type HistogramCell } from "./cells.ts";

/** Append → acknowledgement (durable per --log-fsync): sub-millisecond to a slow disk's fsync. */
const ackBuckets = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

/** The commit log's metrics; LogService reports each acknowledged append. */
export class LogMetrics {
  readonly #records: CounterCell;
  readonly #bytes: CounterCell;
  readonly #ack: HistogramCell;
  readonly #newest: Gauge;
  #newestOffset: () => number | Promise<number> = () => -1;

  constructor(registry: Registry) {
    this.#records = new CounterCells("switchboard_log_appended_records_total", "Records appended to the commit log and acknowledged.", [])
      .registerIn(registry)
      .cell({});
    this.#bytes = new CounterCells("switchboard_log_appended_bytes_total", "Record value bytes appended to the commit log and acknowledged.", [])
      .registerIn(registry)
      .cell({});
    this.#ack = new HistogramCells(
      "switchboard_log_ack_seconds",
      "Time from an append to its acknowledgement (after the fsync when --log-fsync is always), in seconds.",
      [],
      ackBuckets,
    )
      .registerIn(registry)
      .cell({});
    const source = () => this.#newestOffset();
    this.#newest = new Gauge({
      name: "switchboard_log_newest_offset",
      help: "Offset of the newest record in the commit log (-1 when it is empty).",
      registers: [registry],
      async collect() {
        this.set(await source());
      },
    });
  }

  /** One acknowledged append of `bytes` that took `seconds`. */
  appended(bytes: number, seconds: number): void {
    this.#records.value++;
    this.#bytes.value += bytes;
    this.#ack.observe(seconds);
  }

  /** Where the newest offset is read at scrape time. */
  setNewestOffsetSource(source: () => number | Promise<number>): void {
    this.#newestOffset = source;
  }

}
