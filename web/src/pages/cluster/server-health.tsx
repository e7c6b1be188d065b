import { Code, ConnectError } from "@connectrpc/connect";
import { useQuery } from "@connectrpc/connect-query";
import { Health, HealthCheckResponse_ServingStatus as Serving } from "@switchboard/gen/grpc/health/v1/health_pb.js";
import { Badge, Panel } from "../../components/status.tsx";
import { describeError, pollEvery } from "../../lib/errors.ts";

/** The services a Switchboard server can host. */
const services = [
  { name: "", label: "Server (overall)" },
  { name: "order.v1.OrderService", label: "Orders" },
  { name: "log.v1.LogService", label: "Commit log" },
  { name: "node.v1.NodeService", label: "Tasks & workers" },
];

/**
 * grpc.health.v1 Check for the server and each service, polled. (Not one
 * Watch stream per service: over HTTP/1.1 a browser opens at most 6
 * connections per server, and long-lived streams would use them up.)
 * NOT_FOUND means the server does not host the service; polling stops then.
 */
export function ServerHealth() {
  return (
    <Panel title="Server health" id="health">
      <ul className="health-list" aria-label="Service health">
        {services.map((s) => (
          <ServiceHealth key={s.name} {...s} />
        ))}
      </ul>
    </Panel>
  );
}

function ServiceHealth({ name, label }: { name: string; label: string }) {
  const check = useQuery(Health.method.check, { service: name }, { refetchInterval: pollEvery(4000), retry: false });
  let badge;
  if (check.isPending) badge = <Badge tone="muted">checking…</Badge>;
  else if (check.isError) {
    badge =
      check.error instanceof ConnectError && check.error.code === Code.NotFound ? (
        <Badge tone="muted">not hosted</Badge>
      ) : (
        <span title={describeError(check.error)}>
          <Badge tone="bad">unreachable</Badge>
        </span>
      );
  } else {
    const st = check.data.status;
    badge =
      st === Serving.SERVING ? (
        <Badge tone="ok">serving</Badge>
      ) : st === Serving.NOT_SERVING ? (
        <Badge tone="bad">not serving</Badge>
      ) : (
        <Badge tone="warn">{Serving[st]?.toLowerCase() ?? "unknown"}</Badge>
      );
  }
  return (
    <li data-testid="service-health">
      <span>
        {label}
        {name ? <small className="mono muted"> {name}</small> : null}
      </span>
      {badge}
    </li>
  );
}
