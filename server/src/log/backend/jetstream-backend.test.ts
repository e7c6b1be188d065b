import assert from "node:assert/strict";
import { test } from "node:test";
import { BackendHealth } from "@switchboard/gen/cluster/v1/cluster_pb.js";
import { jetStreamBackend } from "./jetstream-backend.ts";

const target = "nats://127.0.0.1:4222 stream s";
const follower = (name: string, lag = 0, current = true, offline = false) => ({ name, lag, current, offline });

test("a leader and every follower current: healthy, with the followers in the detail", () => {
  const b = jetStreamBackend(target, 3, { stream: "s", replicas: 3, leader: "n1", followers: [follower("n2"), follower("n3")] });
  assert.deepEqual([b.kind, b.role, b.shared, b.replicas, b.leader, b.lag, b.health], ["jetstream", "log", true, 3, "n1", 0n, BackendHealth.HEALTHY]);
  assert.equal(b.detail, "followers n2 current lag 0, n3 current lag 0");
});

test("a follower behind or offline: degraded, lag is the largest", () => {
  const b = jetStreamBackend(target, 3, { stream: "s", replicas: 3, leader: "n2", followers: [follower("n1", 12, false, true), follower("n3", 3)] });
  assert.equal(b.health, BackendHealth.DEGRADED);
  assert.equal(b.lag, 12n);
  assert.match(b.detail, /n1 behind lag 12 \(offline\), n3 current lag 3; a replica is behind or offline/);
});

test("a follower missing from the group: degraded", () => {
  const b = jetStreamBackend(target, 3, { stream: "s", replicas: 3, leader: "n2", followers: [follower("n3")] });
  assert.equal(b.health, BackendHealth.DEGRADED);
});

test("one replica, no followers: healthy", () => {
  const b = jetStreamBackend(target, 1, { stream: "s", replicas: 1, leader: "n1", followers: [] });
  assert.deepEqual([b.health, b.detail], [BackendHealth.HEALTHY, ""]);
});

test("no leader, or NATS not answering: unhealthy with the reason", () => {
  const noLeader = jetStreamBackend(target, 3, { stream: "s", replicas: 3, leader: "", followers: [] });
  assert.equal(noLeader.health, BackendHealth.UNHEALTHY);
  assert.match(noLeader.detail, /no stream leader/);
  const down = jetStreamBackend(target, 3, new Error("no connection to NATS"));
  assert.deepEqual([down.health, down.replicas, down.detail], [BackendHealth.UNHEALTHY, 3, "unreachable: no connection to NATS"]);
});
