import { useQuery } from "@connectrpc/connect-query";
import { BackendHealth, ClusterService, type Backend, type InstanceStatus } from "@switchboard/gen/cluster/v1/cluster_pb.js";
import { Badge, Empty, ErrorMessage, Loading, Panel } from "../../components/status.tsx";
import { pollEvery } from "../../lib/errors.ts";

const healthBadge: Record<BackendHealth, { tone: "ok" | "warn" | "bad" | "muted"; label: string }> = {
  [BackendHealth.UNSPECIFIED]: { tone: "muted", label: "unknown" },
  [BackendHealth.HEALTHY]: { tone: "ok", label: "healthy" },
  [BackendHealth.DEGRADED]: { tone: "warn", label: "degraded" },
  [BackendHealth.UNHEALTHY]: { tone: "bad", label: "unhealthy" },
};

function detail(b: Backend): string {
  const parts = [b.target];
  if (b.replicas) parts.push(`${b.replicas} replicas`);
  if (b.leader) parts.push(`leader ${b.leader}`);
  if (b.kind === "jetstream") parts.push(`lag ${b.lag}`);
  if (b.detail) parts.push(b.detail);
  return parts.join(" · ");
}

/**
 * Every instance's storage backends (embedded SQLite/segments, or shared
 * PostgreSQL / JetStream) and their health, from ClusterService.GetClusterStatus,
 * polled: the answering server asks each registered instance in turn.
 */
export function Backends() {
  const q = useQuery(ClusterService.method.getClusterStatus, {}, { refetchInterval: pollEvery(5000), retry: false });
  let body;
  if (q.isPending) body = <Loading>Asking the instances…</Loading>;
  else if (q.isError) body = <ErrorMessage error={q.error} prefix="Cannot read the cluster status" />;
  else if (q.data.instances.length === 0) body = <Empty>No instances.</Empty>;
  else
    body = (
      <>
        {!q.data.registryEnabled && <p className="muted">Registry off (no <code>--etcd</code>): only this server is shown.</p>}
        <table className="data stack" aria-label="Backends" data-testid="backends">
          <thead>
            <tr>
              <th>Instance</th>
              <th>Stores</th>
              <th>Backend</th>
              <th>Health</th>
              <th>Detail</th>
            </tr>
          </thead>
          <tbody>{q.data.instances.flatMap((i) => rows(i))}</tbody>
        </table>
      </>
    );
  return (
    <Panel title="Backends" id="backends">
      {body}
    </Panel>
  );
}

function rows(i: InstanceStatus) {
  if (!i.reachable)
    return [
      <tr key={i.address}>
        <td data-label="Instance" className="mono">{i.address}</td>
        <td data-label="Stores" colSpan={2}>–</td>
        <td data-label="Health">
          <Badge tone="bad">unreachable</Badge>
        </td>
        <td data-label="Detail" className="wrap">{i.error}</td>
      </tr>,
    ];
  return i.backends.map((b) => (
    <tr key={`${i.address}-${b.role}`}>
      <td data-label="Instance" className="mono">{i.address}</td>
      <td data-label="Stores">{b.role}</td>
      <td data-label="Backend">
        {b.kind}
        {b.shared ? " (shared)" : ""}
      </td>
      <td data-label="Health">
        <Badge tone={healthBadge[b.health].tone}>{healthBadge[b.health].label}</Badge>
      </td>
      <td data-label="Detail" className="mono wrap">{detail(b)}</td>
    </tr>
  ));
}
