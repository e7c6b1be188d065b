/**
 * Where a server announces the services it hosts. Narrow on purpose: the
 * server only starts it after the listener is up and removes it before
 * draining; the etcd implementation lives in etcd-registry.ts.
 */
export interface Registry {
  /** Starts announcing in the background (never throws when the registry is down). */
  start(): void;
  /** Resolves once the services are announced. */
  whenRegistered(): Promise<void>;
  /** Withdraws the announcement (bounded time; best effort when the registry is down). */
  deregister(): Promise<void>;
  /** How many times the services were registered (1 after the first; more after lost leases). */
  readonly registrations: number;
  /** Releases connections. */
  close(): Promise<void>;
}
