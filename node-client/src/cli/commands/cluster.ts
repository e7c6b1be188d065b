import { Command } from "commander";
import {
  BackendHealth,
  GetClusterStatusResponseSchema,
  type Backend,
  type GetClusterStatusResponse,
} from "@switchboard/gen/cluster/v1/cluster_pb.js";
import { examples, withCli } from "../action.ts";
import type { Cli } from "../context.ts";
import { ExitCode } from "../exit-codes.ts";
import { formatTable } from "../format.ts";

/** `switchboard cluster status`: every instance, its backends and their health (ClusterService.GetClusterStatus). */
export function clusterCommand(): Command {
  const cluster = new Command("cluster")
    .description("the cluster as the servers see it: instances, backends, health (cluster.v1.ClusterService)")
    .enablePositionalOptions()
    .addHelpText("after", examples("switchboard cluster status", "switchboard cluster status --json"));
  cluster.addCommand(
    new Command("status")
      .description("instances, the backends each uses (embedded, PostgreSQL, JetStream) and their health")
      .addHelpText(
        "after",
        "\nAsks one instance (--server, or any registered one with --etcd) for ClusterService.GetClusterStatus;\n" +
          "it asks every instance registered in etcd in turn. Exit code 3 when an instance does not answer\n" +
          "or a backend is not healthy.\n" +
          examples("switchboard cluster status", "switchboard cluster status --json", "switchboard cluster status --etcd http://127.0.0.1:2379"),
      )
      .action(
        withCli(async (cli) => {
          const res = await cli.clients().cluster.getClusterStatus({}, cli.call());
          if (cli.json) cli.outJson(GetClusterStatusResponseSchema, res);
          else printStatus(cli, res);
          if (!healthy(res)) cli.exitCode = ExitCode.negative;
        }),
      ),
  );
  return cluster;
}

const healthName: Record<BackendHealth, string> = {
  [BackendHealth.UNSPECIFIED]: "unknown",
  [BackendHealth.HEALTHY]: "healthy",
  [BackendHealth.DEGRADED]: "degraded",
  [BackendHealth.UNHEALTHY]: "UNHEALTHY",
};

/** Whether every instance answered and every backend is healthy. */
export function healthy(res: GetClusterStatusResponse): boolean {
  return res.instances.every((i) => i.reachable && i.backends.every((b) => b.health === BackendHealth.HEALTHY));
}

function backendDetail(b: Backend): string {
  const parts = [b.target];
  if (b.replicas) parts.push(`replicas ${b.replicas}`);
  if (b.leader) parts.push(`leader ${b.leader}`);
  if (b.kind === "jetstream") parts.push(`lag ${b.lag}`);
  if (b.detail) parts.push(b.detail);
  return parts.join(", ");
}

function printStatus(cli: Cli, res: GetClusterStatusResponse): void {
  if (!res.registryEnabled) cli.note("the server runs without --etcd: only the answering instance is shown");
  const rows: string[][] = [];
  for (const i of res.instances) {
    if (!i.reachable) {
      rows.push([i.address, "-", "-", "UNREACHABLE", i.error]);
      continue;
    }
    for (const b of i.backends) rows.push([i.address, b.role, `${b.kind}${b.shared ? " (shared)" : ""}`, healthName[b.health], backendDetail(b)]);
    if (i.backends.length === 0) rows.push([i.address, "-", "-", "healthy", "no storage"]);
  }
  cli.out(formatTable(["INSTANCE", "ROLE", "BACKEND", "HEALTH", "DETAIL"], rows));
}
