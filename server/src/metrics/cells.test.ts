import { test } from "node:test";
import assert from "node:assert/strict";
import { Registry } from "prom-client";
import { CounterCells, HistogramCells } from "./cells.ts";

test("counter and histogram cells are exposed by prom-client's registry in the text format", async () => {
  const registry = new Registry();
  const c = new CounterCells("t_calls_total", "Calls.", ["method"]).registerIn(registry);
  const h = new HistogramCells("t_seconds", "Time.", ["method"], [2, 1]).registerIn(registry);
  const a = c.cell({ method: "A" });
  assert.equal(c.cell({ method: "A" }), a, "one cell per label set");
  a.value += 2;
  c.cell({ method: 'B"\\' }).value++;
  const cell = h.cell({ method: "A" });
  for (const v of [0.5, 1, 1.5, 5]) cell.observe(v); // le is inclusive: 1 falls in le="1"
  const text = await registry.metrics();
  const lines = text.split("\n");
  for (const want of [
    "# TYPE t_calls_total counter",
    't_calls_total{method="A"} 2',
    't_calls_total{method="B\\"\\\\"} 1',
    "# TYPE t_seconds histogram",
    't_seconds_bucket{method="A",le="1"} 2',
    't_seconds_bucket{method="A",le="2"} 3',
    't_seconds_bucket{method="A",le="+Inf"} 4',
    't_seconds_sum{method="A"} 8',
    't_seconds_count{method="A"} 4',
  ]) {
    assert.ok(lines.includes(want), `missing line ${want} in:\n${text}`);
  }
  registry.resetMetrics();
  assert.ok(!(await registry.metrics()).includes('method="A"'), "reset drops the cells");
});
