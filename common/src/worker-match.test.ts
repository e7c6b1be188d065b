import { test } from "node:test";
import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { NodeSchema, NodeStatus } from "@switchboard/gen/node/v1/node_pb.js";
import { matchWorkers, whyQueued } from "./worker-match.ts";

const node = (id: string, labels: Record<string, string>, status = NodeStatus.ONLINE, running = 0, capacity = 1) =>
  create(NodeSchema, { id, labels, status, capacity, runningTaskIds: Array.from({ length: running }, (_, i) => `t${i}`) });

test("whyQueued explains a queued task from ListNodes (table)", () => {
  const cases: Array<{ nodes: ReturnType<typeof node>[]; labels: Record<string, string>; want: string | undefined }> = [
    { nodes: [], labels: {}, want: "no worker is connected to the master; start one with `switchboard worker`" },
    { nodes: [node("w1", { zone: "a" }, NodeStatus.OFFLINE)], labels: {}, want: "no worker is connected to the master; start one with `switchboard worker`" },
    {
      nodes: [node("w1", { zone: "a" }), node("w2", {}), node("w3", { zone: "eu" }, NodeStatus.DRAINING)],
      labels: { zone: "eu" },
      want: "no connected worker has the labels zone=eu; connected workers: w1 (zone=a), w2 (no labels)",
    },
    { nodes: [node("w1", { zone: "eu", gpu: "yes" }, NodeStatus.ONLINE, 2, 2)], labels: { zone: "eu" }, want: "every matching worker is busy (w1 2/2); it runs when one has a free slot" },
    { nodes: [node("w1", { zone: "eu" }, NodeStatus.ONLINE, 1, 2)], labels: { zone: "eu" }, want: undefined },
    { nodes: [node("w1", {})], labels: {}, want: undefined },
  ];
  for (const c of cases) assert.equal(whyQueued(c.nodes, c.labels), c.want, JSON.stringify(c.labels));
});

test("matchWorkers needs every label with the same value", () => {
  const m = matchWorkers([node("w1", { zone: "a", gpu: "yes" }), node("w2", { zone: "a" }), node("w3", { zone: "b", gpu: "yes" })], { zone: "a", gpu: "yes" });
  assert.deepEqual(m.matching.map((n) => n.id), ["w1"]);
  assert.deepEqual(m.connected.map((n) => n.id), ["w1", "w2", "w3"]);
});
