import { useQuery } from "@connectrpc/connect-query";
import { useQueryClient } from "@tanstack/react-query";
import { useEffect, useRef } from "react";
import { Health, HealthCheckResponse_ServingStatus } from "@switchboard/gen/grpc/health/v1/health_pb.js";
import { useTransportChoice } from "../lib/transport-context.tsx";

/**
 * Polls grpc.health.v1.Health/Check for the whole server. While the server is
 * unreachable or not serving it shows a banner; when it is back, every
 * failed query is fetched again (streams reconnect on their own).
 */
export function HealthBanner() {
  const { baseUrl } = useTransportChoice();
  const queryClient = useQueryClient();
  const health = useQuery(
    Health.method.check,
    { service: "" },
    {
      retry: false,
      refetchInterval: (q) => (q.state.status === "error" ? 1500 : 4000),
      refetchIntervalInBackground: false,
    },
  );
  const down = health.isError;
  const notServing =
    !down && health.data !== undefined && health.data.status !== HealthCheckResponse_ServingStatus.SERVING;
  const wasDown = useRef(false);
  useEffect(() => {
    if (down || notServing) {
      wasDown.current = true;
    } else if (health.isSuccess && wasDown.current) {
      wasDown.current = false;
      void queryClient.invalidateQueries({ predicate: (q) => q.state.status === "error" });
    }
  }, [down, notServing, health.isSuccess, queryClient]);

  if (!down && !notServing) return null;
  return (
    <div className="banner" role="alert" data-testid="server-down">
      <strong>{down ? "Server unreachable." : "Server is not serving (shutting down?)."}</strong>{" "}
      {down ? `No answer from ${baseUrl}. ` : ""}Retrying — the page recovers by itself when the server is back.
    </div>
  );
}
