/**
 * The registry's data format: keys `<prefix>/<fully.qualified.Service>/<host:port>`
 * and JSON values in the format of etcd's gRPC naming endpoints manager
 * (go.etcd.io/etcd/client/v3/naming/endpoints), so etcd's own Go resolver
 * (`etcd:///<prefix>/<Service>`) and `etcdctl get --prefix` understand them.
 */

/** Default prefix of service registrations. */
export const defaultServicePrefix = "switchboard/services";
/** Default prefix of worker registrations. */
export const defaultWorkerPrefix = "switchboard/workers";

/** What an instance tells about itself (the `Metadata` of an endpoint). */
export interface EndpointMetadata {
  /** Unique id of the process. */
  instanceId: string;
  /** Protocols it speaks, e.g. ["grpc", "grpc-web", "connect"]. */
  protocols: string[];
  /** Software version. */
  version: string;
  /** Start time, ISO 8601. */
  startTime: string;
}

/** A registered endpoint of one service. */
export interface Endpoint {
  /** "host:port" */
  address: string;
  /** Fully qualified service name, e.g. "order.v1.OrderService". */
  service: string;
  metadata?: Partial<EndpointMetadata>;
}

/** etcd naming's endpoint update; Op 0 = Add (the only value ever stored). */
interface NamingUpdate {
  Op: number;
  Addr: string;
  Metadata?: unknown;
}

/** Removes trailing slashes: "a/b/" → "a/b". */
export function normalizePrefix(prefix: string): string {
  const p = prefix.replace(/\/+$/, "");
  if (p === "") throw new Error("registry prefix must not be empty");
  return p;
}

/**
 * The key prefix that lists exactly one service's endpoints, WITH the
 * trailing slash, so "foo" never matches "foo_other".
 */
export function serviceKeyPrefix(prefix: string, service: string): string {
  return `${normalizePrefix(prefix)}/${service}/`;
}

/** The registration key of one endpoint. */
export function endpointKey(prefix: string, service: string, address: string): string {
  return serviceKeyPrefix(prefix, service) + address;
}

/** The JSON value stored for one endpoint. */
export function encodeEndpoint(address: string, metadata: EndpointMetadata): string {
  const update: NamingUpdate = { Op: 0, Addr: address, Metadata: metadata };
  return JSON.stringify(update);
}

/**
 * Parses one registry entry below `prefix` (the registry root, without a
 * service). Returns undefined for keys or values that are not endpoints, so
 * foreign keys under the prefix are ignored instead of crashing a resolver.
 */
export function decodeEndpoint(prefix: string, key: string, value: string): Endpoint | undefined {
  const root = normalizePrefix(prefix) + "/";
  if (!key.startsWith(root)) return undefined;
  const rest = key.slice(root.length);
  const slash = rest.indexOf("/");
  if (slash <= 0) return undefined;
  const service = rest.slice(0, slash);
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return undefined;
  }
  if (typeof parsed !== "object" || parsed === null) return undefined;
  const u = parsed as Partial<NamingUpdate>;
  if (u.Op !== undefined && u.Op !== 0) return undefined;
  if (typeof u.Addr !== "string" || u.Addr === "") return undefined;
  const md = typeof u.Metadata === "object" && u.Metadata !== null ? (u.Metadata as Record<string, unknown>) : undefined;
  return { address: u.Addr, service, metadata: md ? pickMetadata(md) : undefined };
}

function pickMetadata(md: Record<string, unknown>): Partial<EndpointMetadata> {
  const out: Partial<EndpointMetadata> = {};
  if (typeof md.instanceId === "string") out.instanceId = md.instanceId;
  if (Array.isArray(md.protocols)) out.protocols = md.protocols.filter((p): p is string => typeof p === "string");
  if (typeof md.version === "string") out.version = md.version;
  if (typeof md.startTime === "string") out.startTime = md.startTime;
  return out;
}
