import { useState } from "react";
import { ClusterService, type Instance } from "@switchboard/gen/cluster/v1/cluster_pb.js";
import { Badge, Empty, ErrorMessage, Loading, Panel } from "../../components/status.tsx";
import { formatAgo } from "../../lib/format.ts";
import { useTransportChoice } from "../../lib/transport-context.tsx";
import { useServerStream } from "../../lib/use-stream.ts";
import { useClient } from "../../lib/use-client.ts";

/** Registered instances per service, live from WatchInstances (the full set on every change). */
export function Instances() {
  const { kind } = useTransportChoice();
  const client = useClient(ClusterService);
  const [snapshot, setSnapshot] = useState<{ enabled: boolean; instances: Instance[] } | undefined>();
  const stream = useServerStream({
    key: kind,
    reconnect: true,
    open: ({ signal, onHeader }) => client.watchInstances({}, { signal, onHeader }),
    onMessage: (res) => setSnapshot({ enabled: res.registryEnabled, instances: res.instances }),
  });

  const byService = new Map<string, Instance[]>();
  for (const i of snapshot?.instances ?? []) {
    byService.set(i.service, [...(byService.get(i.service) ?? []), i]);
  }
  let body;
  if (stream.status === "error") body = <ErrorMessage error={stream.error} prefix="Cannot watch the registry" />;
  else if (!snapshot) body = <Loading>Waiting for the registry…</Loading>;
  else if (!snapshot.enabled)
    body = (
      <Empty>
        The service registry is off: start the server with <code>--etcd</code> to register and list instances.
      </Empty>
    );
  else if (byService.size === 0) body = <Empty>No instances are registered.</Empty>;
  else
    body = (
      <div className="instances" data-testid="instances">
        {[...byService].map(([service, list]) => (
          <div key={service} className="instance-group">
            <h3 className="mono">{service}</h3>
            <ul>
              {list.map((i) => (
                <li key={`${i.instanceId}-${i.address}`}>
                  <span className="mono">{i.address}</span>
                  <span className="muted">
                    {i.protocols.join(", ")}
                    {i.version ? ` · v${i.version}` : ""} · started {formatAgo(i.startTime)}
                  </span>
                </li>
              ))}
            </ul>
          </div>
        ))}
      </div>
    );
  // "Live" describes the stream; without --etcd there is nothing live to show.
  const badge =
    snapshot && !snapshot.enabled ? (
      <Badge tone="muted">Registry off</Badge>
    ) : stream.status === "live" ? (
      <Badge tone="ok">Live</Badge>
    ) : stream.status === "reconnecting" ? (
      <Badge tone="warn">Reconnecting…</Badge>
    ) : null;
  return (
    <Panel title="Registered instances" id="instances" actions={badge}>
      {body}
    </Panel>
  );
}
