import { Command } from "commander";
import { HealthCheckResponse_ServingStatus as ServingStatus } from "@switchboard/gen/grpc/health/v1/health_pb.js";
import { examples, withCli } from "../action.ts";
import type { Cli } from "../context.ts";
import { ExitCode } from "../exit-codes.ts";
import { serviceAliases } from "../parse.ts";

/** `switchboard health [SERVICE]`: grpc.health.v1.Health. */
export function healthCommand(): Command {
  return new Command("health")
    .description("check the serving status of the server or one service (grpc.health.v1.Health)")
    .argument("[service]", 'fully-qualified service name or a short one (order, log, node); default "" = the whole server', "")
    .option("--watch", "print every status change until Ctrl-C (Health.Watch)")
    .addHelpText(
      "after",
      "\nExit code 0 when SERVING, 3 when NOT_SERVING (or UNKNOWN), 1 when the call fails\n" +
        "(e.g. NOT_FOUND for an unknown service, UNAVAILABLE when nothing listens).\n" +
        examples("switchboard health", "switchboard health order", "switchboard health log.v1.LogService --json", "switchboard health --watch"),
    )
    .action(
      withCli(async (cli, service: string, opts: { watch?: boolean }) => {
        const name = serviceAliases[service] ?? service;
        const health = cli.clients().health;
        if (opts.watch) {
          for await (const res of health.watch({ service: name }, cli.openCall())) printStatus(cli, name, res.status);
          return;
        }
        const res = await health.check({ service: name }, cli.call());
        printStatus(cli, name, res.status);
        if (res.status !== ServingStatus.SERVING) cli.exitCode = ExitCode.negative;
      }),
    );
}

function printStatus(cli: Cli, service: string, status: ServingStatus): void {
  const statusName = ServingStatus[status] ?? String(status);
  if (cli.json) cli.outJsonValue({ service, status: statusName });
  else cli.out(`${service || "(server)"}: ${statusName}\n`);
}
