import { HealthCheckResponse_ServingStatus as ServingStatus } from "@switchboard/gen/grpc/health/v1/health_pb.js";

export { ServingStatus };

type Listener = (service: string, status: ServingStatus) => void;

/**
 * The serving status of the server ("") and of each hosted service, with
 * change notifications for Health.Watch. Shutdown sets everything NOT_SERVING.
 */
export class HealthStatus {
  readonly #statuses = new Map<string, ServingStatus>();
  readonly #listeners = new Set<Listener>();

  constructor(services: Iterable<string> = []) {
    this.#statuses.set("", ServingStatus.SERVING);
    for (const s of services) this.#statuses.set(s, ServingStatus.SERVING);
  }

  /** The status of a service, or undefined when the server does not know it. */
  get(service: string): ServingStatus | undefined {
    return this.#statuses.get(service);
  }

  set(service: string, status: ServingStatus): void {
    if (this.#statuses.get(service) === status) return;
    this.#statuses.set(service, status);
    for (const l of this.#listeners) l(service, status);
  }

  /** Marks the server and every service. */
  setAll(status: ServingStatus): void {
    for (const service of [...this.#statuses.keys()]) this.set(service, status);
  }

  /** Calls `listener` on every change until the returned function is called. */
  subscribe(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
