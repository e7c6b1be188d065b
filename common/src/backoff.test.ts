import { test } from "node:test";
import assert from "node:assert/strict";
import { Backoff, backoffDelay, backoffFactory, type BackoffOptions } from "./backoff.ts";

test("Backoff: the delays of successive retries", async (t) => {
  const cases: Array<{ name: string; options: BackoffOptions; want: number[] }> = [
    { name: "defaults without jitter: 100 ms doubling to 2 s", options: { jitter: "none" }, want: [100, 200, 400, 800, 1600, 2000, 2000] },
    { name: "no jitter, custom curve", options: { initialMs: 50, maxMs: 300, jitter: "none" }, want: [50, 100, 200, 300, 300] },
    { name: "half jitter at random 0: half the ceiling", options: { initialMs: 100, maxMs: 1000, random: () => 0 }, want: [50, 100, 200, 400, 500, 500] },
    { name: "half jitter at random 1: the ceiling", options: { initialMs: 100, maxMs: 1000, random: () => 1 }, want: [100, 200, 400, 800, 1000, 1000] },
    { name: "half jitter at random 0.5: three quarters", options: { initialMs: 200, maxMs: 10_000, random: () => 0.5 }, want: [150, 300, 600, 1200, 2400, 4800, 7500, 7500] },
    { name: "max below initial: always max", options: { initialMs: 500, maxMs: 100, jitter: "none" }, want: [100, 100] },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const b = new Backoff(c.options);
      assert.deepEqual(
        c.want.map(() => b.next()),
        c.want,
      );
      assert.equal(b.attempts, c.want.length);
    });
  }
});

test("Backoff: reset starts the curve over", () => {
  const b = new Backoff({ initialMs: 10, maxMs: 1000, jitter: "none" });
  assert.deepEqual([b.next(), b.next(), b.next()], [10, 20, 40]);
  b.reset();
  assert.equal(b.attempts, 0);
  assert.deepEqual([b.next(), b.next()], [10, 20]);
});

test("Backoff: default jitter stays within [ceiling/2, ceiling]", () => {
  const b = new Backoff({ initialMs: 100, maxMs: 800 });
  const ceilings = [100, 200, 400, 800, 800, 800];
  for (let round = 0; round < 50; round++) {
    b.reset();
    for (const ceiling of ceilings) {
      const d = b.next();
      assert.ok(d >= ceiling / 2 && d <= ceiling, `${d} within [${ceiling / 2}, ${ceiling}]`);
    }
  }
});

test("backoffDelay: the delay of retry n for a stateless caller", () => {
  const table: Array<[attempt: number, random: number, want: number]> = [
    // initial 100, max 1000, half jitter
    [0, 0, 50],
    [0, 1, 100],
    [1, 0, 100],
    [2, 0.5, 300],
    [3, 1, 800],
    [4, 0, 500],
    [4, 1, 1000],
    [40, 1, 1000],
    [1e9, 0, 500],
    [-1, 1, 100],
  ];
  for (const [attempt, random, want] of table) {
    assert.equal(backoffDelay(attempt, { initialMs: 100, maxMs: 1000, random: () => random }), want, `attempt ${attempt}, random ${random}`);
  }
});

test("backoffFactory: the same curve as a cockatiel back-off factory", () => {
  const factory = backoffFactory({ initialMs: 100, maxMs: 300, jitter: "none" });
  let b = factory.next(undefined);
  const got = [b.duration];
  for (let i = 0; i < 3; i++) {
    b = b.next(undefined);
    got.push(b.duration);
  }
  assert.deepEqual(got, [100, 200, 300, 300]);
});
