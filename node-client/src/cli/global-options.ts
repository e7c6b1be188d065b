import { Option, type Command } from "commander";
import type { HttpVersion, Protocol } from "../transport.ts";
import { parseDurationMs, parseEndpoints, parseProtocol, parseServerUrl, readTokenFile } from "./parse.ts";

/** Options every command understands (before or after the command name). */
export interface GlobalOptions {
  /** --server URL, $SWITCHBOARD_SERVER, default http://localhost:8080. */
  server: string;
  /** --etcd ENDPOINTS, $SWITCHBOARD_ETCD: discover instances instead of --server. */
  etcd?: string[];
  /** --etcd-prefix PREFIX: registration key prefix (default: the discovery default). */
  etcdPrefix?: string;
  /** --protocol, $SWITCHBOARD_PROTOCOL, default grpc. */
  protocol: Protocol;
  /** --http-version for connect / grpc-web, default 2. */
  httpVersion: HttpVersion;
  /** --token, else --token-file, else $SWITCHBOARD_TOKEN: bearer token. */
  token?: string;
  /** --timeout: per-call deadline in ms; unset → 30 s for calls that end on their own, none for follow/watch/stdin streams. */
  timeoutMs?: number;
  /** --json: one JSON object per line on stdout. */
  json: boolean;
}

export const defaultServer = "http://localhost:8080";

const marked = new WeakSet<Option>();
/** Fresh Option objects for the global flags (commander needs one set per command). */
export function createGlobalOptions(group = "Global options (also accepted before the command name):"): Option[] {
  const options = [
    new Option("--server <url>", `server URL (env SWITCHBOARD_SERVER, default ${defaultServer})`).argParser(parseServerUrl),
    new Option("--etcd <endpoints>", "comma-separated etcd endpoints: discover and balance across registered instances (env SWITCHBOARD_ETCD)").argParser(parseEndpoints),
    new Option("--etcd-prefix <prefix>", "etcd key prefix of the registrations (default switchboard/services)"),
    new Option("--protocol <protocol>", "grpc | connect | grpc-web (env SWITCHBOARD_PROTOCOL, default grpc)").argParser(parseProtocol),
    new Option("--http-version <version>", "HTTP version for connect and grpc-web (default 2; streaming uploads always use 2)").choices(["1.1", "2"]),
    new Option("--token <token>", "bearer token for SubmitTask/CancelTask (visible in ps: prefer --token-file or env SWITCHBOARD_TOKEN)"),
    new Option("--token-file <file>", "read the bearer token from a file").argParser(readTokenFile),
    new Option("--timeout <duration>", "deadline per call, e.g. 5s or 500 (ms); default 30s, none for --follow/watch/stdin streams").argParser(parseDurationMs),
    new Option("--json", "machine-readable output: one JSON object per line"),
  ];
  for (const o of options) {
    o.helpGroup(group);
    marked.add(o);
  }
  return options;
}

/**
 * Adds the global options to `command` unless it already has an option of
 * that name (e.g. `tasks submit --timeout` is the task's time limit; the
 * call deadline then goes before the command name).
 */
export function addGlobalOptions(command: Command): void {
  for (const o of createGlobalOptions()) {
    if (command.options.some((existing) => existing.long === o.long)) continue;
    command.addOption(o);
  }
}

/**
 * Resolves the global options for the command that runs: the value nearest
 * to the command wins (leaf, then its parents, then the program), then the
 * environment, then the default.
 */
export function resolveGlobals(command: Command, env: NodeJS.ProcessEnv): GlobalOptions {
  const chain: Command[] = [];
  for (let c: Command | null = command; c; c = c.parent) chain.push(c);
  const pick = <T>(key: string): T | undefined => {
    for (const c of chain) {
      const own = c.options.find((o) => marked.has(o) && o.attributeName() === key);
      if (own === undefined) continue;
      const value = c.getOptionValue(key) as T | undefined;
      if (value !== undefined) return value;
    }
    return undefined;
  };
  const envString = (name: string) => (env[name] !== undefined && env[name] !== "" ? env[name] : undefined);
  const envServer = envString("SWITCHBOARD_SERVER");
  const envEtcd = envString("SWITCHBOARD_ETCD");
  const envProtocol = envString("SWITCHBOARD_PROTOCOL");
  const server = pick<string>("server");
  const etcd = pick<string[]>("etcd");
  return {
    server: server ?? (envServer !== undefined ? parseServerUrl(envServer) : defaultServer),
    // An explicit --server wins over $SWITCHBOARD_ETCD.
    etcd: etcd ?? (server === undefined && envEtcd !== undefined ? parseEndpoints(envEtcd) : undefined),
    etcdPrefix: pick<string>("etcdPrefix"),
    protocol: pick<Protocol>("protocol") ?? (envProtocol !== undefined ? parseProtocol(envProtocol) : "grpc"),
    httpVersion: pick<HttpVersion>("httpVersion") ?? "2",
    token: pick<string>("token") ?? pick<string>("tokenFile") ?? envString("SWITCHBOARD_TOKEN"),
    timeoutMs: pick<number>("timeout"),
    json: pick<boolean>("json") ?? false,
  };
}
