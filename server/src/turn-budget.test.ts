import { test } from "node:test";
import assert from "node:assert/strict";
import { setImmediate as nextTurn } from "node:timers/promises";
import { TurnBudget } from "./turn-budget.ts";

test("TurnBudget grants at most perTurn per event-loop turn, first come first served", async () => {
  const budget = new TurnBudget(3);
  const granted: number[] = [];
  for (let i = 0; i < 8; i++) void budget.next().then(() => granted.push(i));
  assert.equal(budget.waiting, 8);
  assert.deepEqual(granted, [], "nothing before the next turn");
  const seen: number[][] = [];
  while (granted.length < 8 && seen.length < 20) {
    await nextTurn();
    seen.push([...granted]);
  }
  assert.deepEqual(granted, [0, 1, 2, 3, 4, 5, 6, 7]);
  // Each turn added at most 3 grants.
  let before = 0;
  for (const s of seen) {
    assert.ok(s.length - before <= 3, `turn granted ${s.length - before}`);
    before = s.length;
  }
  assert.equal(budget.waiting, 0);
});
