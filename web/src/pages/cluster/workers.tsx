import { useQuery } from "@connectrpc/connect-query";
import { NodeService, NodeStatus } from "@switchboard/gen/node/v1/node_pb.js";
import { Badge, Empty, ErrorMessage, Loading, Panel, type Tone } from "../../components/status.tsx";
import { pollEvery } from "../../lib/errors.ts";
import { formatAgo } from "../../lib/format.ts";
import { serverBaseUrl } from "../../lib/transport.ts";

const statusView: Record<NodeStatus, { tone: Tone; label: string }> = {
  [NodeStatus.UNSPECIFIED]: { tone: "muted", label: "unknown" },
  [NodeStatus.ONLINE]: { tone: "ok", label: "online" },
  [NodeStatus.DRAINING]: { tone: "warn", label: "draining" },
  [NodeStatus.OFFLINE]: { tone: "bad", label: "offline" },
};

/** Workers from ListNodes, refreshed every 2 s. */
export function Workers() {
  const nodes = useQuery(NodeService.method.listNodes, {}, { refetchInterval: pollEvery(2000) });
  // ListNodes lists the workers connected to this server's master.
  const instance = new URL(serverBaseUrl(), window.location.href).host;
  let body;
  if (nodes.isPending) body = <Loading />;
  else if (nodes.isError) body = <ErrorMessage error={nodes.error} prefix="Cannot list the workers" />;
  else if (nodes.data.nodes.length === 0)
    body = (
      <Empty>
        No workers yet. Start one with <code>npm run switchboard -- worker</code>.
      </Empty>
    );
  else
    body = (
      <div className="table-wrap">
        <table className="data stack" aria-label="Workers">
          <thead>
            <tr>
              <th scope="col">Worker</th>
              <th scope="col">Status</th>
              <th scope="col" className="num">
                Running / capacity
              </th>
              <th scope="col" className="num">
                Load
              </th>
              <th scope="col">Labels</th>
              <th scope="col">Instance</th>
              <th scope="col">Last heartbeat</th>
              <th scope="col">Host</th>
            </tr>
          </thead>
          <tbody>
            {nodes.data.nodes.map((n) => {
              const s = statusView[n.status] ?? statusView[NodeStatus.UNSPECIFIED];
              return (
                <tr key={n.id} data-testid="worker-row">
                  <td data-label="Worker" className="mono">{n.id}</td>
                  <td data-label="Status">
                    <Badge tone={s.tone}>{s.label}</Badge>
                  </td>
                  <td data-label="Running / capacity" className="num">
                    {n.runningTaskIds.length} / {n.capacity}
                  </td>
                  <td data-label="Load" className="num">{n.load.toFixed(2)}</td>
                  <td data-label="Labels">
                    <Labels labels={n.labels} />
                  </td>
                  <td data-label="Instance" className="mono" title="The server whose master this worker is connected to (the one this page talks to)">
                    {instance}
                  </td>
                  <td data-label="Last heartbeat">{formatAgo(n.lastHeartbeat)}</td>
                  <td data-label="Host" className="muted">
                    {n.hostname}
                    {n.version ? ` · v${n.version}` : ""}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    );
  return (
    <Panel title="Workers" id="workers">
      {body}
    </Panel>
  );
}

/** A worker's labels as k=v chips; "none" when it has none. */
export function Labels({ labels }: { labels: Record<string, string> }) {
  const entries = Object.entries(labels).sort(([a], [b]) => a.localeCompare(b));
  if (entries.length === 0) return <span className="muted">none</span>;
  return (
    <span className="labels">
      {entries.map(([k, v]) => (
        <code key={k} className="label-chip">
          {k}={v}
        </code>
      ))}
    </span>
  );
}
