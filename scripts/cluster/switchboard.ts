// One Switchboard server process of the local cluster (server/src/main.ts,
// same Node binary), in its own process group, logging to a file.
import { mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { usage } from "@switchboard/server/config";
import { listInstances } from "@switchboard/naming/list-instances";
import { spawnGroup, stopAndThrow, type GroupProcess } from "./process-group.ts";
import { tail, waitFor } from "./wait.ts";

export const repoRoot = fileURLToPath(new URL("../../", import.meta.url));

/** Whether this server build has the JetStream commit log (`--nats`). */
export const serverHasNats = /^\s*--nats\b/m.test(usage);
/** Whether this server build has orders/tasks on PostgreSQL (`--postgres`). */
export const serverHasPostgres = /^\s*--postgres\b/m.test(usage);

/** Options of `startInstance()`. */
export interface InstanceOptions {
  /** 1-based number, for names and logs. */
  index: number;
  port: number;
  /** Its data directory (embedded stores, `server.log`). */
  dir: string;
  etcd: string;
  postgres?: string;
  /** Comma-separated NATS URLs (passed only when the server has `--nats`). */
  nats?: string;
  /** Extra server flags. */
  args?: string[];
}

/** A running instance. */
export interface InstanceComponent {
  readonly name: string;
  readonly url: string;
  readonly address: string;
  readonly logFile: string;
  readonly process: GroupProcess;
  /** "serving" (grpc.health.v1 Check) or the reason it is not. */
  health(): Promise<string>;
  /** Whether it is registered in etcd (any service under the default prefix). */
  registered(): Promise<boolean>;
  stop(): Promise<void>;
  /** Starts the process again with the same flags (after stop or kill). */
  restart(): Promise<void>;
}

/** grpc.health.v1.Health/Check over Connect JSON. */
export async function checkHealth(url: string): Promise<string> {
  try {
    const res = await fetch(`${url}/grpc.health.v1.Health/Check`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
      signal: AbortSignal.timeout(2000),
    });
    const body = (await res.json()) as { status?: string; message?: string };
    return res.ok ? (body.status ?? "SERVING").toLowerCase() : `error (${body.message ?? res.status})`;
  } catch (err) {
    return `unreachable (${(err as Error).message})`;
  }
}

export async function startInstance(o: InstanceOptions): Promise<InstanceComponent> {
  mkdirSync(o.dir, { recursive: true });
  const logFile = path.join(o.dir, "server.log");
  const address = `127.0.0.1:${o.port}`;
  const url = `http://${address}`;
  const args = [
    path.join(repoRoot, "server/src/main.ts"),
    "--host", "127.0.0.1",
    "--port", String(o.port),
    "--data-dir", o.dir,
    "--etcd", o.etcd,
    ...(o.postgres && serverHasPostgres ? ["--postgres", o.postgres] : []),
    ...(o.nats && serverHasNats ? ["--nats", o.nats] : []),
    ...(o.args ?? []),
  ];
  const launch = () => spawnGroup(`switchboard ${o.index}`, process.execPath, args, { logFile });
  const registered = async () => (await listInstances(o.etcd)).some((e) => e.address === address);
  const inst: InstanceComponent & { process: GroupProcess } = {
    name: `switchboard ${o.index}`,
    url,
    address,
    logFile,
    process: launch(),
    health: () => checkHealth(url),
    registered,
    stop: () => inst.process.stop("SIGTERM", 20_000),
    async restart() {
      inst.process = launch();
      await ready();
    },
  };
  const ready = () =>
    waitFor(inst.name, async () => (await checkHealth(url)) === "serving" && (await registered()), {
      timeoutMs: 60_000,
      alive: () => inst.process.running(),
      diagnose: () => tail(logFile),
    });
  await ready().catch(stopAndThrow(inst.process));
  return inst;
}
