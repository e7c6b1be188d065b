import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import { Health } from "@switchboard/gen/grpc/health/v1/health_pb.js";
import { EventQueue } from "../event-queue.ts";
import { HealthStatus, ServingStatus } from "./health-status.ts";

/** Status changes a Watch may lag behind before it ends with RESOURCE_EXHAUSTED. */
const maxPendingStatuses = 1000;

/** Mounts grpc.health.v1.Health (Check and Watch) backed by `status`. */
export function registerHealth(router: ConnectRouter, status: HealthStatus): void {
  router.service(Health, {
    check(req) {
      const s = status.get(req.service);
      if (s === undefined) {
        throw new ConnectError(`unknown service "${req.service}"`, Code.NotFound);
      }
      return { status: s };
    },
    async *watch(req, ctx) {
      // The current status, then every change; ends on cancel/shutdown
      // (queued changes are sent first) with abortReason.
      const queue = new EventQueue<ServingStatus>(
        maxPendingStatuses,
        () => new ConnectError("health watcher fell behind", Code.ResourceExhausted),
      );
      queue.push(status.get(req.service) ?? ServingStatus.SERVICE_UNKNOWN);
      const unsubscribe = status.subscribe((service, s) => {
        if (service === req.service) queue.push(s);
      });
      try {
        let last: ServingStatus | undefined;
        for (;;) {
          const s = await queue.next(ctx.signal);
          if (s === undefined) return;
          if (s !== last) yield { status: s };
          last = s;
        }
      } finally {
        unsubscribe();
      }
    },
  });
}
