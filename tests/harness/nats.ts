/**
 * A throwaway 3-node NATS JetStream cluster on loopback (Debian's
 * nats-server 2.9), per ../shared/cluster-backends.md: each node its own
 * process group (detached = setsid), its own store dir, client, route and
 * monitoring port; bounded waits; stopped by process group.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { freePort } from "./etcd.ts";
import { eventually } from "./eventually.ts";
import { requireProgram } from "./tools.ts";

export interface NatsNode {
  readonly name: string;
  readonly clientPort: number;
  readonly monitorPort: number;
  /** "nats://127.0.0.1:PORT" */
  readonly url: string;
  readonly running: boolean;
}

export interface NatsCluster {
  readonly nodes: readonly NatsNode[];
  /** All client URLs, comma-separated (for `--nats`). */
  readonly urls: string;
  /** Sends `signal` to node `i`'s process group and waits until it exited. */
  kill(i: number, signal?: NodeJS.Signals): Promise<void>;
  /** Starts the given stopped nodes again with their config and store; waits until each sees the meta leader. */
  restart(...indexes: number[]): Promise<void>;
  /** The node ("n2") that the live nodes name as leader of `stream`, or undefined. */
  streamLeader(stream: string): Promise<string | undefined>;
  /** Stops every node (SIGTERM, then SIGKILL) and removes the files. */
  cleanup(): Promise<void>;
}

interface NodeState {
  name: string;
  clientPort: number;
  routePort: number;
  monitorPort: number;
  conf: string;
  child?: ChildProcess;
  exited?: Promise<void>;
  log: string;
}

async function jsz(node: NodeState, query = ""): Promise<Record<string, unknown> | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${node.monitorPort}/jsz${query}`, { signal: AbortSignal.timeout(1000) });
    return (await res.json()) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

const metaLeader = async (node: NodeState) =>
  ((await jsz(node))?.meta_cluster as { leader?: string } | undefined)?.leader;

/**
 * Starts three nats-servers with JetStream and waits (≤ 20 s) until all name
 * the same meta leader. A port picked free may be taken by someone else
 * before the server binds it: then the cluster is started again on new ports
 * (at most 3 attempts).
 */
export async function startNatsCluster(): Promise<NatsCluster> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startNatsClusterOnce();
    } catch (err) {
      if (attempt >= 3 || !/address already in use/.test(String(err))) throw err;
    }
  }
}

async function startNatsClusterOnce(): Promise<NatsCluster> {
  const bin = requireProgram("nats-server", "Debian package nats-server");
  const dir = mkdtempSync(path.join(tmpdir(), "switchboard-nats-"));
  const nodes: NodeState[] = [];
  for (let i = 1; i <= 3; i++) {
    nodes.push({ name: `n${i}`, clientPort: await freePort(), routePort: await freePort(), monitorPort: await freePort(), conf: "", log: "" });
  }
  for (const n of nodes) {
    const routes = nodes.filter((o) => o !== n).map((o) => `"nats-route://127.0.0.1:${o.routePort}"`).join(", ");
    mkdirSync(path.join(dir, n.name));
    n.conf = path.join(dir, `${n.name}.conf`);
    writeFileSync(
      n.conf,
      `server_name: ${n.name}
listen: 127.0.0.1:${n.clientPort}
http: 127.0.0.1:${n.monitorPort}
jetstream { store_dir: "${path.join(dir, n.name)}" }
cluster {
  name: sb
  listen: 127.0.0.1:${n.routePort}
  routes: [${routes}]
}
`,
    );
  }
  const launch = (n: NodeState) => {
    const child = spawn(bin, ["-c", n.conf], { detached: true, stdio: ["ignore", "ignore", "pipe"] });
    child.stderr!.on("data", (d) => (n.log = (n.log + String(d)).slice(-4000)));
    n.child = child;
    n.exited = new Promise((resolve) => child.once("exit", () => resolve()));
  };
  const alive = (n: NodeState) => n.child !== undefined && n.child.exitCode === null && n.child.signalCode === null;
  const stopGroup = async (n: NodeState, signal: NodeJS.Signals) => {
    if (!alive(n)) return;
    try {
      process.kill(-n.child!.pid!, signal);
    } catch {
      return;
    }
    await Promise.race([n.exited, new Promise((r) => setTimeout(r, 10_000))]);
    if (alive(n)) {
      process.kill(-n.child!.pid!, "SIGKILL");
      await n.exited;
    }
  };
  const cleanup = async () => {
    await Promise.all(nodes.map((n) => stopGroup(n, "SIGTERM")));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const n of nodes) launch(n);
    await eventually(
      async () => {
        for (const n of nodes) if (!alive(n)) throw new Error(`nats-server ${n.name} exited:\n${n.log}`);
        const leaders = new Set(await Promise.all(nodes.map(metaLeader)));
        return leaders.size === 1 && !leaders.has(undefined);
      },
      20_000,
      "a JetStream meta leader named by all three nats-servers",
    );
  } catch (err) {
    await cleanup();
    throw err;
  }
  const view = (n: NodeState): NatsNode => ({
    name: n.name,
    clientPort: n.clientPort,
    monitorPort: n.monitorPort,
    url: `nats://127.0.0.1:${n.clientPort}`,
    get running() {
      return alive(n);
    },
  });
  return {
    nodes: nodes.map(view),
    urls: nodes.map((n) => `nats://127.0.0.1:${n.clientPort}`).join(","),
    kill: (i, signal = "SIGKILL") => stopGroup(nodes[i]!, signal),
    async restart(...indexes) {
      const picked = indexes.map((i) => nodes[i]!);
      for (const n of picked) {
        if (alive(n)) throw new Error(`${n.name} is running`);
        launch(n);
      }
      for (const n of picked) {
        await eventually(async () => (await metaLeader(n)) !== undefined, 30_000, `${n.name} sees the meta leader again`);
      }
    },
    async streamLeader(stream) {
      const seen = new Set<string>();
      for (const n of nodes.filter(alive)) {
        const d = await jsz(n, "?accounts=true&streams=true");
        for (const a of (d?.account_details as Array<{ stream_detail?: Array<{ name: string; cluster?: { leader?: string } }> }>) ?? []) {
          for (const s of a.stream_detail ?? []) if (s.name === stream) seen.add(s.cluster?.leader ?? "");
        }
      }
      return seen.size === 1 && !seen.has("") ? [...seen][0] : undefined;
    },
    cleanup,
  };
}
