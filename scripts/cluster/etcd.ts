// One etcd member on loopback for the local cluster (Debian's etcd-server).
import { mkdirSync } from "node:fs";
import path from "node:path";
import { spawnGroup, stopAndThrow, type GroupProcess } from "./process-group.ts";
import { httpGet, tail, waitFor } from "./wait.ts";

/** Options of `startEtcd()`. */
export interface EtcdOptions {
  /** Directory for its data (`DIR/data`) and log (`DIR/etcd.log`). */
  dir: string;
  /** Client port (peer port = clientPort + 1). */
  clientPort: number;
  /** Binary; default "etcd" from PATH. */
  bin?: string;
}

/** A running etcd. */
export interface EtcdComponent {
  readonly url: string;
  readonly process: GroupProcess;
  /** "healthy" or the reason it is not. */
  health(): Promise<string>;
  stop(): Promise<void>;
  /** Starts it again on the same ports and data (after stop). */
  restart(): Promise<void>;
}

export async function startEtcd(o: EtcdOptions): Promise<EtcdComponent> {
  mkdirSync(o.dir, { recursive: true });
  const url = `http://127.0.0.1:${o.clientPort}`;
  const peer = `http://127.0.0.1:${o.clientPort + 1}`;
  const log = path.join(o.dir, "etcd.log");
  const launch = () => spawnGroup("etcd", o.bin ?? "etcd", [
    "--name", "sb-local",
    "--data-dir", path.join(o.dir, "data"),
    "--listen-client-urls", url,
    "--advertise-client-urls", url,
    "--listen-peer-urls", peer,
    "--initial-advertise-peer-urls", peer,
    "--initial-cluster", `sb-local=${peer}`,
    "--log-level", "warn",
  ], { logFile: log });
  let proc = launch();
  const health = async () => {
    try {
      const body = JSON.parse(await httpGet(`${url}/health`)) as { health?: string };
      return body.health === "true" ? "healthy" : `unhealthy (${JSON.stringify(body)})`;
    } catch (err) {
      return `unreachable (${(err as Error).message})`;
    }
  };
  const ready = () =>
    waitFor("etcd", async () => (await health()) === "healthy", { alive: () => proc.running(), diagnose: () => tail(log) }).catch(stopAndThrow(proc));
  await ready();
  return {
    url,
    get process() {
      return proc;
    },
    health,
    stop: () => proc.stop("SIGTERM"),
    async restart() {
      proc = launch();
      await ready();
    },
  };
}
