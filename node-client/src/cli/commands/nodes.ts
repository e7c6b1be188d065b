import { Command } from "commander";
import { NodeSchema } from "@switchboard/gen/node/v1/node_pb.js";
import { examples, withCli } from "../action.ts";
import { formatLabels, formatTable, formatTime, nodeStatusName } from "../format.ts";

/** `switchboard nodes list`: the workers the master knows. */
export function nodesCommand(): Command {
  const nodes = new Command("nodes")
    .description("show the workers connected to the master (node.v1.NodeService)")
    .enablePositionalOptions()
    .addHelpText("after", examples("switchboard nodes list", "switchboard nodes list --json"));
  nodes
    .command("list")
    .description("list the workers, online and offline (ListNodes)")
    .addHelpText("after", examples("switchboard nodes list", "switchboard nodes list --json | jq -r 'select(.status==\"NODE_STATUS_ONLINE\") | .id'"))
    .action(
      withCli(async (cli) => {
        const res = await cli.clients().nodes.listNodes({}, cli.call());
        if (cli.json) {
          for (const n of res.nodes) cli.outJson(NodeSchema, n);
          return;
        }
        if (res.nodes.length === 0) {
          cli.out("no workers\n");
          return;
        }
        const rows = res.nodes.map((n) => [
          n.id,
          nodeStatusName(n.status),
          `${n.runningTaskIds.length}/${n.capacity}`,
          n.load.toFixed(2),
          formatLabels(n.labels),
          n.hostname || "-",
          formatTime(n.lastHeartbeat),
        ]);
        cli.out(formatTable(["ID", "STATUS", "TASKS", "LOAD", "LABELS", "HOST", "LAST HEARTBEAT"], rows));
      }),
    );
  return nodes;
}
