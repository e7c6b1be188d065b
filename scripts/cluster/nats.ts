// A NATS JetStream cluster of N nodes on loopback for the local cluster, per
// /work/shared/cluster-backends.md: unique server_name, one cluster name,
// routes to every other node (comma-separated: 2.9 rejects bare separators),
// one store_dir per node, each node its own process group.
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { spawnGroup, type GroupProcess } from "./process-group.ts";
import { httpGet, tail, waitFor } from "./wait.ts";

/** Ports of one node. */
export interface NatsNodePorts {
  client: number;
  route: number;
  monitor: number;
}

/** Options of `startNats()`. */
export interface NatsOptions {
  /** Directory for configs, stores and logs. */
  dir: string;
  /** One entry per node. */
  nodes: NatsNodePorts[];
  /** Binary; default "nats-server" from PATH. */
  bin?: string;
}

/** One running node. */
export interface NatsNode {
  readonly name: string;
  readonly url: string;
  readonly monitorUrl: string;
  readonly process: GroupProcess;
  /** Starts the node again with the same config and store (after a stop or kill). */
  restart(): Promise<void>;
}

/** A running JetStream cluster. */
export interface NatsComponent {
  readonly nodes: NatsNode[];
  /** "nats://127.0.0.1:A,nats://127.0.0.1:B,…" */
  readonly urls: string;
  /** "healthy (meta leader n2)" or the reason it is not. */
  health(): Promise<string>;
  stop(): Promise<void>;
}

/** The JetStream meta leader node `monitorUrl` reports, if any. */
async function metaLeader(monitorUrl: string): Promise<string | undefined> {
  const jsz = JSON.parse(await httpGet(`${monitorUrl}/jsz`)) as { meta_cluster?: { leader?: string } };
  return jsz.meta_cluster?.leader || undefined;
}

export async function startNats(o: NatsOptions): Promise<NatsComponent> {
  mkdirSync(o.dir, { recursive: true });
  const nodes: NatsNode[] = o.nodes.map((p, i) => {
    const name = `n${i + 1}`;
    const store = path.join(o.dir, name);
    mkdirSync(store, { recursive: true });
    const routes = o.nodes.filter((_, j) => j !== i).map((q) => `"nats-route://127.0.0.1:${q.route}"`).join(", ");
    const conf = path.join(o.dir, `${name}.conf`);
    writeFileSync(
      conf,
      `server_name: ${name}\nlisten: 127.0.0.1:${p.client}\nhttp: 127.0.0.1:${p.monitor}\n` +
        `jetstream { store_dir: "${store}" }\ncluster {\n  name: sb\n  listen: 127.0.0.1:${p.route}\n  routes: [${routes}]\n}\n`,
    );
    const log = path.join(o.dir, `${name}.log`);
    const launch = () => spawnGroup(`nats ${name}`, o.bin ?? "nats-server", ["-c", conf], { logFile: log });
    const node = {
      name,
      url: `nats://127.0.0.1:${p.client}`,
      monitorUrl: `http://127.0.0.1:${p.monitor}`,
      process: launch(),
      async restart() {
        node.process = launch();
        await waitFor(`nats ${name}`, () => metaLeader(node.monitorUrl), { alive: () => node.process.running(), diagnose: () => tail(log) });
      },
    };
    return node;
  });
  const health = async () => {
    const leaders = new Set<string>();
    const down: string[] = [];
    for (const n of nodes) {
      try {
        leaders.add((await metaLeader(n.monitorUrl)) ?? "none");
      } catch {
        down.push(n.name);
      }
    }
    if (leaders.size === 1 && !leaders.has("none")) {
      const leader = [...leaders][0];
      return down.length ? `degraded (${down.join(", ")} down; meta leader ${leader})` : `healthy (meta leader ${leader})`;
    }
    return `no JetStream meta leader agreed${down.length ? ` (${down.join(", ")} down)` : ""}`;
  };
  await waitFor("nats", async () => (await health()).startsWith("healthy"), {
    alive: () => nodes.every((n) => n.process.running()),
    diagnose: () => nodes.map((n) => `${n.name}: ${tail(path.join(o.dir, `${n.name}.log`), 400)}`).join("\n"),
  }).catch(async (err: unknown) => {
    await Promise.all(nodes.map((n) => n.process.stop("SIGTERM")));
    throw err;
  });
  return {
    nodes,
    urls: nodes.map((n) => n.url).join(","),
    health,
    stop: async () => void (await Promise.all(nodes.map((n) => n.process.stop("SIGTERM")))),
  };
}
