import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { Command } from "commander";
import { HealthCheckResponse_ServingStatus as ServingStatus } from "@switchboard/gen/grpc/health/v1/health_pb.js";
import type { ServerReflectionRequestSchema } from "@switchboard/gen/grpc/reflection/v1/reflection_pb.js";
import { examples, withCli } from "../action.ts";
import type { Cli } from "../context.ts";
import { formatLabels, formatTable } from "../format.ts";

/**
 * `switchboard services`: with --etcd, the instances registered in etcd;
 * without, says that discovery is off and lists what the one server reports
 * through reflection, with each service's health status.
 */
export function servicesCommand(): Command {
  return new Command("services")
    .description("list services: instances registered in etcd (--etcd), else what --server reports")
    .addHelpText(
      "after",
      "\nWith --etcd (or $SWITCHBOARD_ETCD) every registered instance is listed per service.\n" +
        "Without it, service discovery is off: a note says so on stderr, and the services the\n" +
        "server reports via gRPC reflection (grpc.reflection.v1) are listed with their health.\n" +
        examples("switchboard services", "switchboard services --json", "switchboard services --etcd http://127.0.0.1:2379"),
    )
    .action(
      withCli(async (cli) => {
        if (cli.globals.etcd) await listFromEtcd(cli);
        else await listFromServer(cli);
      }),
    );
}

async function listFromEtcd(cli: Cli): Promise<void> {
  // Loaded here, not at start-up: etcd3 (grpc-js, protobufjs) is heavy.
  const [{ defaultServicePrefix }, { listInstances }, { createEtcdClient }, { listWorkers }] = await Promise.all([
    import("@switchboard/naming/endpoint-record"),
    import("@switchboard/naming/list-instances"),
    import("@switchboard/naming/etcd-client"),
    import("@switchboard/naming/register-worker"),
  ]);
  const prefix = cli.globals.etcdPrefix ?? defaultServicePrefix;
  const etcd = createEtcdClient(cli.globals.etcd!);
  let instances: Awaited<ReturnType<typeof listInstances>>;
  let workers: Awaited<ReturnType<typeof listWorkers>>;
  try {
    [instances, workers] = await Promise.all([listInstances(etcd, { prefix }), listWorkers(etcd)]);
  } finally {
    etcd.close();
  }
  if (instances.length === 0) cli.note(`no instances registered in etcd under ${prefix}/ (etcd ${cli.globals.etcd!.join(",")})`);
  const rows: string[][] = [];
  for (const i of instances) {
    const row = {
      service: i.service,
      address: i.address,
      instanceId: i.metadata?.instanceId ?? "",
      version: i.metadata?.version ?? "",
      protocols: i.metadata?.protocols ?? [],
      startTime: i.metadata?.startTime ?? "",
    };
    if (cli.json) cli.outJsonValue(row);
    else rows.push([row.service, row.address, row.instanceId, row.version, row.startTime]);
  }
  if (!cli.json && rows.length > 0) cli.out(formatTable(["SERVICE", "ADDRESS", "INSTANCE", "VERSION", "STARTED"], rows));
  // Worker nodes register under switchboard/workers/<id> (switchboard worker --etcd);
  // their JSON rows carry "worker" instead of "service".
  const workerRows: string[][] = [];
  for (const w of workers) {
    if (cli.json) cli.outJsonValue({ worker: w.id, labels: w.labels, address: w.address, instanceId: w.instanceId, startTime: w.startTime });
    else workerRows.push([w.id, formatLabels(w.labels), w.address || "-", w.startTime]);
  }
  if (!cli.json && workerRows.length > 0) cli.out("\n" + formatTable(["WORKER", "LABELS", "ADDRESS", "STARTED"], workerRows));
}

async function listFromServer(cli: Cli): Promise<void> {
  const clients = cli.clients({ fullDuplex: true });
  cli.note(`service discovery is off (no --etcd): services reported by ${cli.globals.server} (reflection)`);
  const request = async function* (): AsyncGenerator<MessageInitShape<typeof ServerReflectionRequestSchema>> {
    yield { messageRequest: { case: "listServices", value: "" } };
  };
  let names: string[] = [];
  for await (const res of clients.reflection.serverReflectionInfo(request(), cli.call())) {
    if (res.messageResponse.case === "listServicesResponse") names = res.messageResponse.value.service.map((s) => s.name);
    else if (res.messageResponse.case === "errorResponse") {
      throw new ConnectError(res.messageResponse.value.errorMessage, res.messageResponse.value.errorCode as Code);
    }
  }
  names.sort();
  const rows: string[][] = [];
  for (const service of names) {
    let status: string | null = null;
    try {
      const h = await clients.health.check({ service }, cli.call());
      status = ServingStatus[h.status] ?? String(h.status);
    } catch (err) {
      // Health, reflection itself: not tracked by the health service.
      if (ConnectError.from(err).code !== Code.NotFound) throw err;
    }
    if (cli.json) cli.outJsonValue({ service, address: cli.globals.server, status });
    else rows.push([service, status ?? "-"]);
  }
  if (!cli.json) cli.out(formatTable(["SERVICE", "HEALTH"], rows));
}
