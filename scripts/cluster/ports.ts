// Loopback port checks for the local cluster: every port is tried before
// anything starts, so a busy port is one clear message, not a half-started cluster.
import { createServer } from "node:net";

/** Whether 127.0.0.1:`port` can be bound right now. */
export function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once("error", () => resolve(false));
    s.listen({ port, host: "127.0.0.1", exclusive: true }, () => s.close(() => resolve(true)));
  });
}

/** A port some component of the cluster needs. */
export interface NamedPort {
  readonly port: number;
  /** Who needs it, e.g. "etcd client", "nats n2 route". */
  readonly what: string;
}

/** The needed ports that are busy (empty when all are free); duplicates count as busy. */
export async function busyPorts(ports: readonly NamedPort[]): Promise<NamedPort[]> {
  const seen = new Set<number>();
  const busy: NamedPort[] = [];
  for (const p of ports) {
    if (seen.has(p.port) || !(await portFree(p.port))) busy.push(p);
    seen.add(p.port);
  }
  return busy;
}
