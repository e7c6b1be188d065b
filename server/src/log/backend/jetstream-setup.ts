/** Connecting to NATS and creating (or checking) the JetStream stream of the commit log (jetstream.ts). */
import { DiscardPolicy, RetentionPolicy, StorageType, type JetStreamManager, type StreamConfig } from "@nats-io/jetstream";
import {
  credsAuthenticator,
  nanos,
  tokenAuthenticator,
  usernamePasswordAuthenticator,
  type Authenticator,
  type NatsConnection,
} from "@nats-io/transport-node";

/** Credentials for a secured NATS; never logged. */
export interface NatsAuth {
  token?: string;
  user?: string;
  pass?: string;
  /** Contents of a `.creds` file (JWT + nkey seed). */
  creds?: Uint8Array;
}

export function authenticator(auth: NatsAuth): Authenticator {
  if (auth.creds) return credsAuthenticator(auth.creds);
  if (auth.token !== undefined) return tokenAuthenticator(auth.token);
  return usernamePasswordAuthenticator(auth.user ?? "", auth.pass);
}

/** Servers in the NATS cluster: those it advertises (connect_urls) or the ones we were given, whichever is more. */
export async function clusterSize(nc: NatsConnection, servers: string[]): Promise<number> {
  const info = nc.info;
  const advertised = new Set(info?.connect_urls ?? []);
  return Math.max(advertised.size, servers.length);
}

export function streamConfig(name: string, replicas: number, maxBytes: number, maxAgeMs: number): Partial<StreamConfig> & { name: string } {
  return {
    name,
    subjects: [`${name}.records`],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    num_replicas: replicas,
    max_bytes: maxBytes > 0 ? maxBytes : -1,
    max_age: maxAgeMs > 0 ? nanos(maxAgeMs) : 0,
    // JetStream refuses a duplicate window longer than max_age.
    duplicate_window: nanos(maxAgeMs > 0 ? Math.min(120_000, maxAgeMs) : 120_000),
  };
}

/** The settings that must match for an existing stream to be used as is. */
const checkedSettings = ["subjects", "retention", "storage", "discard", "num_replicas", "max_bytes", "max_age"] as const;

/**
 * Creates the stream when missing; an existing one is used only when its
 * settings match (it is never reconfigured silently).
 */
export async function ensureStream(jsm: JetStreamManager, wanted: Partial<StreamConfig> & { name: string }): Promise<void> {
  let existing: StreamConfig | undefined;
  try {
    existing = (await jsm.streams.info(wanted.name)).config;
  } catch (err) {
    if (!/stream not found/i.test(String((err as Error).message))) throw err;
  }
  if (existing === undefined) {
    try {
      await jsm.streams.add(wanted);
      return;
    } catch (err) {
      // Another instance may have created it at the same moment: check what it made.
      existing = (await jsm.streams.info(wanted.name).catch(() => { throw err; })).config;
    }
  }
  const mismatches = checkedSettings.filter((k) => JSON.stringify(existing[k]) !== JSON.stringify(wanted[k]));
  if (mismatches.length > 0) {
    const show = (c: Partial<StreamConfig>) => mismatches.map((k) => `${k}=${JSON.stringify(c[k])}`).join(", ");
    throw new Error(
      `NATS stream "${wanted.name}" exists with ${show(existing)}, but this server is configured for ${show(wanted)}; ` +
        `start with matching --log-replicas / --log-retention-bytes / --log-retention-age, use another --log-stream, ` +
        `or change the stream yourself (it is never reconfigured silently)`,
    );
  }
}
