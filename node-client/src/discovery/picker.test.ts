import { test } from "node:test";
import assert from "node:assert/strict";
import { RoundRobinPicker } from "./picker.ts";

function clock() {
  let t = 1_000_000;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

test("round-robin order over the address set", () => {
  const p = new RoundRobinPicker({ random: () => 0 });
  p.setAddresses(["a", "b", "c"]);
  assert.deepEqual([1, 2, 3, 4, 5, 6].map(() => p.pick()), ["a", "b", "c", "a", "b", "c"]);
});

test("pick()", async (t) => {
  const cases: Array<{ name: string; addresses: string[]; eject?: string[]; exclude?: string[]; want: string | undefined }> = [
    { name: "empty set", addresses: [], want: undefined },
    { name: "skips excluded", addresses: ["a", "b"], exclude: ["a"], want: "b" },
    { name: "all excluded", addresses: ["a", "b"], exclude: ["a", "b"], want: undefined },
    { name: "skips ejected", addresses: ["a", "b", "c"], eject: ["a"], want: "b" },
    { name: "all ejected: the one re-admitted soonest", addresses: ["a", "b"], eject: ["b", "a"], want: "b" },
    { name: "ejected but not excluded beats nothing", addresses: ["a", "b"], eject: ["a"], exclude: ["b"], want: "a" },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const cl = clock();
      const p = new RoundRobinPicker({ now: cl.now, random: () => 0 });
      p.setAddresses(c.addresses);
      for (const e of c.eject ?? []) {
        p.reportFailure(e);
        cl.advance(10);
      }
      assert.equal(p.pick(new Set(c.exclude ?? [])), c.want);
    });
  }
});

test("ejection doubles per consecutive failure up to the maximum, and ends with the period", () => {
  const cl = clock();
  const p = new RoundRobinPicker({ now: cl.now, random: () => 0, ejectBaseMs: 100, ejectMaxMs: 350 });
  p.setAddresses(["a", "b"]);
  const periods: number[] = [];
  for (let i = 0; i < 4; i++) {
    p.reportFailure("a");
    let ms = 0;
    while (p.isEjected("a")) {
      cl.advance(10);
      ms += 10;
    }
    periods.push(ms);
  }
  assert.deepEqual(periods, [100, 200, 350, 350]);
  p.reportSuccess("a");
  p.reportFailure("a");
  assert.ok(p.isEjected("a"));
  cl.advance(100);
  assert.ok(!p.isEjected("a"), "a success resets the back-off");
});

test("a changed address set keeps the health of remaining addresses and drops the rest", () => {
  const cl = clock();
  const p = new RoundRobinPicker({ now: cl.now, random: () => 0 });
  p.setAddresses(["a", "b", "c"]);
  p.reportFailure("a");
  p.reportFailure("c");
  p.setAddresses(["a", "b"]);
  assert.ok(p.isEjected("a"));
  p.setAddresses(["a", "b", "c"]);
  assert.ok(!p.isEjected("c"), "c came back as a new endpoint");
  p.reportFailure("zzz");
  assert.ok(!p.isEjected("zzz"), "unknown addresses are ignored");
});

test("a new address set starts at a random position (grpc-go round_robin), then rotates", () => {
  for (const [r, first] of [[0, "a"], [0.34, "b"], [0.99, "c"], [0.9999999, "c"]] as const) {
    const p = new RoundRobinPicker({ random: () => r });
    p.setAddresses(["a", "b", "c"]);
    const i = ["a", "b", "c"].indexOf(first);
    assert.deepEqual([0, 1, 2, 3].map(() => p.pick()), [0, 1, 2, 3].map((k) => ["a", "b", "c"][(i + k) % 3]), `random ${r}`);
  }
});

test("with Math.random, first picks of many fresh pickers spread over every address", () => {
  const counts = new Map<string, number>();
  for (let i = 0; i < 3000; i++) {
    const p = new RoundRobinPicker();
    p.setAddresses(["a", "b", "c"]);
    const a = p.pick()!;
    counts.set(a, (counts.get(a) ?? 0) + 1);
  }
  // Expected 1000 each; 800 is > 13 standard deviations below, so this never flakes by chance.
  for (const a of ["a", "b", "c"]) assert.ok((counts.get(a) ?? 0) > 800, `first picks: ${JSON.stringify([...counts])}`);
});

test("the same address set again (a re-resolve) keeps the rotation position", () => {
  let r = 0;
  const p = new RoundRobinPicker({ random: () => r });
  p.setAddresses(["a", "b", "c"]);
  assert.equal(p.pick(), "a");
  r = 0.99;
  p.setAddresses(["a", "b", "c"]);
  assert.equal(p.pick(), "b");
});
