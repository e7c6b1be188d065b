// The local cluster as a library (scripts/cluster.ts is its command line;
// tests reuse it): one etcd, one PostgreSQL, a NATS JetStream cluster and N
// Switchboard instances on loopback, with every file under one directory.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { startEtcd, type EtcdComponent } from "./etcd.ts";
import { startNats, type NatsComponent } from "./nats.ts";
import { busyPorts, type NamedPort } from "./ports.ts";
import { startPostgres, type PostgresComponent } from "./postgres.ts";
import { serverHasNats, serverHasPostgres, startInstance, type InstanceComponent } from "./switchboard.ts";

/** Options of `startLocalCluster()`; every field has a default. */
export interface LocalClusterOptions {
  /** Switchboard instances. Default 3. */
  instances: number;
  /** Where everything keeps its data and logs. Default "./data/cluster". */
  dataDir: string;
  /** Port of the first instance (serves the UI); the next ones follow. Default 8080. */
  port: number;
  /** etcd client port (peer port + 1). Default 2379. */
  etcdPort: number;
  /** PostgreSQL port. Default 5432. */
  pgPort: number;
  /** First NATS client port; routes at +2000, monitoring at +4000, one port per node each. Default 4222. */
  natsPort: number;
  /** NATS nodes. Default 3. */
  natsNodes: number;
  /** Extra flags for every instance. Default none. */
  serverArgs: string[];
  /** Progress lines. Default: nothing. */
  say: (line: string) => void;
}

export const defaultLocalClusterOptions: LocalClusterOptions = {
  instances: 3,
  dataDir: "./data/cluster",
  port: 8080,
  etcdPort: 2379,
  pgPort: 5432,
  natsPort: 4222,
  natsNodes: 3,
  serverArgs: [],
  say: () => {},
};

/** A started local cluster. */
export interface LocalCluster {
  readonly dataDir: string;
  readonly etcd: EtcdComponent;
  readonly postgres: PostgresComponent;
  readonly nats: NatsComponent;
  readonly instances: InstanceComponent[];
  /** Stops everything it started (instances first), bounded; idempotent. */
  stop(): Promise<void>;
}

/** A failure the user can fix (busy port, running cluster): print the message, no stack. */
export class ClusterStartError extends Error {}

/** Every port the cluster will bind, with who binds it. */
export function clusterPorts(o: LocalClusterOptions): NamedPort[] {
  const ports: NamedPort[] = [];
  for (let i = 0; i < o.instances; i++) ports.push({ port: o.port + i, what: `switchboard ${i + 1} (--port)` });
  ports.push({ port: o.etcdPort, what: "etcd client (--etcd-port)" }, { port: o.etcdPort + 1, what: "etcd peer (--etcd-port + 1)" });
  ports.push({ port: o.pgPort, what: "postgres (--pg-port)" });
  for (let i = 0; i < o.natsNodes; i++) {
    ports.push(
      { port: o.natsPort + i, what: `nats n${i + 1} client (--nats-port)` },
      { port: o.natsPort + 2000 + i, what: `nats n${i + 1} route (--nats-port + 2000)` },
      { port: o.natsPort + 4000 + i, what: `nats n${i + 1} monitoring (--nats-port + 4000)` },
    );
  }
  return ports;
}

/** Port options (from a random base in 20000–30000) whose every port is free right now: for tests. */
export async function freeClusterPorts(instances: number): Promise<Pick<LocalClusterOptions, "port" | "etcdPort" | "pgPort" | "natsPort">> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 1000) * 10;
    const ports = { port: base, etcdPort: base + instances + 1, pgPort: base + instances + 3, natsPort: base + instances + 4 };
    if ((await busyPorts(clusterPorts({ ...defaultLocalClusterOptions, instances, ...ports }))).length === 0) return ports;
  }
  throw new Error("no free port range found");
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Starts the cluster. Throws ClusterStartError when a cluster already runs
 * from `dataDir` or a port is busy (before starting anything); on any other
 * failure it stops what it had started and rethrows.
 */
export async function startLocalCluster(options: Partial<LocalClusterOptions> = {}): Promise<LocalCluster> {
  const o: LocalClusterOptions = { ...defaultLocalClusterOptions, ...options };
  if (!Number.isInteger(o.instances) || o.instances < 1) throw new ClusterStartError(`--instances must be a positive integer (got ${o.instances})`);
  const dataDir = path.resolve(o.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const lock = path.join(dataDir, "cluster.pid");
  if (existsSync(lock)) {
    const pid = Number(readFileSync(lock, "utf8").trim());
    if (pid > 0 && pid !== process.pid && pidAlive(pid)) {
      throw new ClusterStartError(`a cluster is already running from ${dataDir} (pid ${pid}): stop it (Ctrl-C in its terminal, or kill ${pid}) or pass another --data-dir`);
    }
  }
  const busy = await busyPorts(clusterPorts(o));
  if (busy.length) {
    throw new ClusterStartError(
      `port${busy.length > 1 ? "s" : ""} already in use: ${busy.map((b) => `${b.port} (${b.what})`).join(", ")}; stop what uses ${busy.length > 1 ? "them" : "it"} or choose other ports`,
    );
  }
  writeFileSync(lock, `${process.pid}\n`);

  const stops: Array<() => Promise<void>> = []; // in start order
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      // Instances first (they deregister and drain), then the backends together.
      const instanceStops = stops.splice(3);
      await Promise.all(instanceStops.map((s) => s().catch(() => {})));
      await Promise.all(stops.map((s) => s().catch(() => {})));
      rmSync(lock, { force: true });
    })());
  const pending: Array<Promise<unknown>> = [];
  try {
    const etcdP = startEtcd({ dir: path.join(dataDir, "etcd"), clientPort: o.etcdPort }).then((c) => {
      o.say(`etcd        ${c.url.padEnd(40)} healthy`);
      return c;
    });
    const pgP = startPostgres({ dir: path.join(dataDir, "postgres"), port: o.pgPort }).then((c) => {
      o.say(`postgres    ${c.url.padEnd(40)} healthy`);
      return c;
    });
    const natsP = startNats({
      dir: path.join(dataDir, "nats"),
      nodes: Array.from({ length: o.natsNodes }, (_, i) => ({ client: o.natsPort + i, route: o.natsPort + 2000 + i, monitor: o.natsPort + 4000 + i })),
    }).then(async (c) => {
      const h = await c.health();
      for (const n of c.nodes) o.say(`nats ${n.name}     ${n.url.padEnd(40)} ${h} (monitoring ${n.monitorUrl})`);
      return c;
    });
    pending.push(etcdP, pgP, natsP);
    // Register each stop as soon as its component is up, so a failure elsewhere still stops it.
    const settled = await Promise.allSettled([
      etcdP.then((c) => ((stops[0] = c.stop), c)),
      pgP.then((c) => ((stops[1] = c.stop), c)),
      natsP.then((c) => ((stops[2] = c.stop), c)),
    ]);
    for (let i = 0; i < 3; i++) stops[i] ??= async () => {};
    const failed = settled.find((s) => s.status === "rejected");
    if (failed) throw (failed as PromiseRejectedResult).reason;
    const [etcd, postgres, nats] = settled.map((s) => (s as PromiseFulfilledResult<unknown>).value) as [EtcdComponent, PostgresComponent, NatsComponent];
    if (!serverHasPostgres) o.say("orders      embedded SQLite per instance (this server build has no --postgres)");
    if (!serverHasNats) o.say("log         embedded segments per instance (this server build has no --nats)");
    const instances: InstanceComponent[] = [];
    const one = async (i: number) => {
      const inst = await startInstance({
        index: i + 1,
        port: o.port + i,
        dir: path.join(dataDir, `instance-${i + 1}`),
        etcd: etcd.url,
        postgres: postgres.url,
        nats: nats.urls,
        args: o.serverArgs,
      });
      instances[i] = inst;
      stops.push(inst.stop);
      o.say(`${inst.name.padEnd(11)} ${inst.url.padEnd(40)} ${await inst.health()}, registered in etcd${i === 0 ? " (web UI)" : ""}`);
    };
    await one(0); // the first one runs the PostgreSQL migrations
    const rest = await Promise.allSettled(Array.from({ length: o.instances - 1 }, (_, k) => one(k + 1)));
    const bad = rest.find((r) => r.status === "rejected");
    if (bad) throw (bad as PromiseRejectedResult).reason;
    return { dataDir, etcd, postgres, nats, instances, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
