import type { Metric, Registry } from "prom-client";

/** Label name → value. */
export type Labels = Readonly<Record<string, string>>;

/** prom-client's exposition input: one sample. */
interface Sample {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
}

/**
 * A metric whose samples live in plain per-label-set objects ("cells") that
 * the hot path updates with a field increment, exposed through prom-client's
 * Registry (which formats the text exposition and owns the default metrics).
 *
 * Why not prom-client's Counter/Histogram directly: their `inc`/`observe`
 * hash and validate the label set on every call, about 0.55 µs each measured
 * on this machine with 5 labels — four counters and a histogram per RPC add
 * ≈ 2.8 µs to a unary call that costs ≈ 25 µs in total. A cell is looked up
 * once per (method, protocol) and cached by the caller.
 */
abstract class CellMetric<C> {
  readonly aggregator = "sum";
  readonly #cells = new Map<string, { labels: Labels; cell: C }>();
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly string[];
  constructor(name: string, help: string, labelNames: readonly string[]) {
    this.name = name;
    this.help = help;
    this.labelNames = labelNames;
  }

  /** The cell of one label set (created at zero on first use). Cache it: this builds a key. */
  cell(labels: Labels): C {
    const key = this.labelNames.map((n) => labels[n] ?? "").join("\u0000");
    let entry = this.#cells.get(key);
    if (entry === undefined) {
      entry = { labels: { ...labels }, cell: this.create() };
      this.#cells.set(key, entry);
    }
    return entry.cell;
  }

  /** Registers this metric with a prom-client registry. */
  registerIn(registry: Registry): this {
    registry.registerMetric(this as unknown as Metric);
    return this;
  }

  protected abstract create(): C;
  protected abstract samples(labels: Labels, cell: C, out: Sample[]): void;
  abstract readonly type: "counter" | "histogram";

  /** prom-client's metric interface: the samples, formatted by the registry. */
  async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: Sample[] }> {
    const values: Sample[] = [];
    for (const { labels, cell } of this.#cells.values()) this.samples(labels, cell, values);
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  /** prom-client calls this from `registry.resetMetrics()`. */
  reset(): void {
    this.#cells.clear();
  }
}

/** A counter cell. */
export interface CounterCell {
  value: number;
}

/** A counter with cached per-label-set cells. */
export class CounterCells extends CellMetric<CounterCell> {
  readonly type = "counter";
  protected create(): CounterCell {
    return { value: 0 };
  }
  protected samples(labels: Labels, cell: CounterCell, out: Sample[]): void {
    out.push({ value: cell.value, labels: { ...labels } });
  }
}

/** A histogram cell: `observe(v)` is a bucket search and three additions. */
export class HistogramCell {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  readonly #bounds: readonly number[];
  constructor(bounds: readonly number[]) {
    this.#bounds = bounds;
    this.counts = new Float64Array(bounds.length);
  }
  observe(value: number): void {
    const b = this.#bounds;
    for (let i = 0; i < b.length; i++) {
      if (value <= b[i]!) {
        this.counts[i]!++;
        break;
      }
    }
    this.sum += value;
    this.count++;
  }
}

/** Prometheus's default buckets (seconds), the same as prom-client's and client_golang's DefBuckets. */
export const defaultBuckets: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** A histogram with cached per-label-set cells. */
export class HistogramCells extends CellMetric<HistogramCell> {
  readonly type = "histogram";
  readonly buckets: readonly number[];
  constructor(name: string, help: string, labelNames: readonly string[], buckets: readonly number[] = defaultBuckets) {
    super(name, help, labelNames);
    this.buckets = [...buckets].sort((a, b) => a - b);
  }
  protected create(): HistogramCell {
    return new HistogramCell(this.buckets);
  }
  protected samples(labels: Labels, cell: HistogramCell, out: Sample[]): void {
    let acc = 0;
    for (let i = 0; i < this.buckets.length; i++) {
      acc += cell.counts[i]!;
      out.push({ metricName: `${this.name}_bucket`, labels: { ...labels, le: this.buckets[i]! }, value: acc });
    }
    out.push({ metricName: `${this.name}_bucket`, labels: { ...labels, le: "+Inf" }, value: cell.count });
    out.push({ metricName: `${this.name}_sum`, labels: { ...labels }, value: cell.sum });
    out.push({ metricName: `${this.name}_count`, labels: { ...labels }, value: cell.count });
  }
}
