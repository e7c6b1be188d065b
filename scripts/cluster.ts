#!/usr/bin/env node
// `npm run cluster`: a whole Switchboard cluster on loopback — one etcd, one
// PostgreSQL, a 3-node NATS JetStream cluster and N instances registered in
// etcd (the first on :8080 serving the UI), data under one directory.
// Ctrl-C or SIGTERM stops everything it started.
import { parseArgs } from "node:util";
import { ClusterStartError, defaultLocalClusterOptions as d, startLocalCluster, type LocalCluster } from "./cluster/local-cluster.ts";
import { ensurePackages } from "./cluster/packages.ts";

const usage = `Usage: npm run cluster -- [options]

  --instances N     Switchboard instances (default ${d.instances})
  --data-dir DIR    data and logs of every component (default ${d.dataDir})
  --port PORT       first instance's port, serving the web UI; the others follow (default ${d.port})
  --etcd-port PORT  etcd client port; the peer port is PORT+1 (default ${d.etcdPort})
  --pg-port PORT    PostgreSQL port (default ${d.pgPort})
  --nats-port PORT  first NATS client port; routes at +2000, monitoring at +4000 (default ${d.natsPort})
  -h, --help        show this help
`;

const say = (line: string) => process.stdout.write(`${line}\n`);
const fail = (msg: string, code = 1): never => {
  process.stderr.write(`cluster: ${msg}\n`);
  process.exit(code);
};

function parse(): Parameters<typeof startLocalCluster>[0] & { help?: boolean } {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        instances: { type: "string" },
        "data-dir": { type: "string" },
        port: { type: "string" },
        "etcd-port": { type: "string" },
        "pg-port": { type: "string" },
        "nats-port": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    }));
  } catch (err) {
    return fail(`${(err as Error).message}\n\n${usage}`, 2);
  }
  const int = (flag: string, v: string | undefined, min: number, max: number) => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) fail(`--${flag} must be an integer from ${min} to ${max} (got "${v}")`, 2);
    return n;
  };
  return {
    help: values.help,
    instances: int("instances", values.instances, 1, 64),
    dataDir: values["data-dir"],
    port: int("port", values.port, 1, 65535),
    etcdPort: int("etcd-port", values["etcd-port"], 1, 65534),
    pgPort: int("pg-port", values["pg-port"], 1, 65535),
    natsPort: int("nats-port", values["nats-port"], 1, 61000),
  };
}

async function main(): Promise<void> {
  const { help, ...opts } = parse();
  if (help) return void process.stdout.write(usage);
  const options = Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined));
  try {
    ensurePackages(say);
  } catch (err) {
    fail((err as Error).message);
  }
  let cluster: LocalCluster | undefined;
  let signalled: string | undefined;
  const onSignal = (signal: string) => {
    if (signalled) return; // a second Ctrl-C while stopping changes nothing: stopping is bounded
    signalled = signal;
    say(`\n${signal}: stopping the cluster…`);
    if (cluster) void cluster.stop().then(() => (say("stopped"), process.exit(0)));
  };
  process.on("SIGINT", () => onSignal("SIGINT"));
  process.on("SIGTERM", () => onSignal("SIGTERM"));
  process.on("SIGHUP", () => onSignal("SIGHUP"));
  try {
    cluster = await startLocalCluster({ ...options, say });
  } catch (err) {
    if (signalled) return void (say("stopped"), process.exit(0));
    if (err instanceof ClusterStartError) fail(err.message);
    fail(`could not start: ${(err as Error).message}`);
  }
  if (signalled) return void (await cluster!.stop(), say("stopped"), process.exit(0));
  const c = cluster!;
  say(`\ncluster up: ${c.instances.length} instances, data in ${c.dataDir}`);
  say(`  web UI:  ${c.instances[0]!.url}/`);
  say(`  CLI:     npm run switchboard -- cluster status --etcd ${c.etcd.url}`);
  say(`  Ctrl-C stops everything.`);
  // Say so when a component dies on its own (the rest keeps running: that is a drill, not a crash).
  const watch = [c.etcd.process, c.postgres.process, ...c.nats.nodes.map((n) => n.process), ...c.instances.map((i) => i.process)];
  for (const p of watch) void p.exited.then(() => signalled || say(`${p.name} exited (code ${p.child.exitCode}, signal ${p.child.signalCode})`));
}

main().catch((err: unknown) => fail((err as Error).message));
