import assert from "node:assert/strict";
import { test } from "node:test";
import { beforeDeadline, giveUpAfterMs } from "./before-deadline.ts";

test("giveUpAfterMs: a fifth of the time left, at most 1 s, a whole number ≥ 0", () => {
  const cases: Array<[left: number, want: number]> = [
    [3_000, 2_400],
    [2_998, 2_398], // 2 998 − 599.6 = 2 398.4: AbortSignal.timeout needs an integer
    [10_000, 9_000],
    [60_000, 59_000],
    [7, 5],
    [1, 0],
    [0, 0],
    [-50, 0],
  ];
  for (const [left, want] of cases) assert.equal(giveUpAfterMs(left), want, `left ${left} ms`);
});

test("beforeDeadline: the call's signal without a deadline; aborts early with one", async () => {
  const call = new AbortController();
  assert.equal(beforeDeadline({ timeoutMs: () => undefined, signal: call.signal }), call.signal);
  // When it fires is giveUpAfterMs (above); here: a fractional time left no longer throws, and the
  // signal aborts by itself with a timeout while the call's own signal stays live.
  for (const left of [2_998, 57, 13]) {
    const signal = beforeDeadline({ timeoutMs: () => left, signal: call.signal });
    await new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true }));
    assert.equal((signal.reason as DOMException).name, "TimeoutError", `left ${left} ms`);
    assert.equal(call.signal.aborted, false);
  }
  const ended = new AbortController();
  const signal = beforeDeadline({ timeoutMs: () => 60_000, signal: ended.signal });
  ended.abort(new Error("client canceled"));
  assert.equal(signal.aborted, true);
});
