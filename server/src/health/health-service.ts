import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import { Health } from "../../../gen/grpc/health/v1/health_pb.js";
import { abortReason } from "../errors.ts";
import { HealthStatus, ServingStatus } from "./health-status.ts";

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
      // Queue of statuses not yet sent, woken by changes; ends on cancel/shutdown.
      const pending: ServingStatus[] = [status.get(req.service) ?? ServingStatus.SERVICE_UNKNOWN];
      let wake: (() => void) | undefined;
      const unsubscribe = status.subscribe((service, s) => {
        if (service !== req.service) return;
        pending.push(s);
        wake?.();
      });
      const onAbort = () => wake?.();
      ctx.signal.addEventListener("abort", onAbort);
      try {
        let last: ServingStatus | undefined;
        for (;;) {
          while (pending.length > 0) {
            const s = pending.shift()!;
            if (s !== last) yield { status: s };
            last = s;
          }
          if (ctx.signal.aborted) throw abortReason(ctx.signal);
          await new Promise<void>((resolve) => (wake = resolve));
          wake = undefined;
        }
      } finally {
        unsubscribe();
        ctx.signal.removeEventListener("abort", onAbort);
      }
    },
  });
}
