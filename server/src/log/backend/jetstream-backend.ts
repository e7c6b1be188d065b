// The JetStream log as a ClusterService backend: stream, replicas, leader,
// each follower's lag/current, and health (healthy: a leader and every
// follower current; degraded: a leader but a follower behind or offline;
// unhealthy: no leader, or NATS does not answer).
import { create } from "@bufbuild/protobuf";
import { BackendHealth, BackendSchema, type Backend } from "@switchboard/gen/cluster/v1/cluster_pb.js";
import type { JetStreamLog, StreamStatus } from "./jetstream.ts";

/** "n1 current lag 0, n3 behind lag 12 (offline)". */
export function describeFollowers(s: StreamStatus): string {
  return s.followers
    .map((f) => `${f.name} ${f.current ? "current" : "behind"} lag ${f.lag}${f.offline ? " (offline)" : ""}`)
    .join(", ");
}

/** The Backend message for `status`, or for the error that kept us from reading it. */
export function jetStreamBackend(target: string, replicas: number, status: StreamStatus | Error): Backend {
  const base = { role: "log", kind: "jetstream", target, shared: true, replicas };
  if (status instanceof Error) {
    return create(BackendSchema, { ...base, health: BackendHealth.UNHEALTHY, detail: `unreachable: ${status.message}` });
  }
  const lag = status.followers.reduce((m, f) => Math.max(m, f.lag), 0);
  const followers = describeFollowers(status);
  let health = BackendHealth.HEALTHY;
  let why = "";
  if (!status.leader) {
    health = BackendHealth.UNHEALTHY;
    why = "no stream leader: produce waits or fails with UNAVAILABLE";
  } else if (status.followers.some((f) => !f.current || f.offline) || status.followers.length < status.replicas - 1) {
    health = BackendHealth.DEGRADED;
    why = "a replica is behind or offline";
  }
  return create(BackendSchema, {
    ...base,
    replicas: status.replicas,
    leader: status.leader,
    lag: BigInt(lag),
    health,
    detail: [followers && `followers ${followers}`, why].filter(Boolean).join("; "),
  });
}

/** Reads `log`'s stream status now, never throwing (an error becomes an unhealthy backend). */
export async function reportJetStream(log: JetStreamLog, target: string): Promise<Backend> {
  const status = await log.status().catch((err: unknown) => (err instanceof Error ? err : new Error(String(err))));
  return jetStreamBackend(target, log.replicas, status);
}
