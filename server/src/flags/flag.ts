// One declaration per server flag: its name, type, default, environment
// variable, help line, docs row and validation. Parsing (program.ts),
// `--help` and the docs flag tables (docs-table.ts) are derived from these.
import type { ServerOptions } from "../config.ts";

/** The docs page a flag's table row lives in (see `groupPages`). */
export type FlagGroup = "server" | "log" | "nats" | "registry";

/** Docs page of each group; the table sits between `<!-- flags:GROUP -->` and `<!-- /flags:GROUP -->`. */
export const groupPages: Record<FlagGroup, string> = {
  server: "docs/server.md",
  log: "docs/log.md",
  nats: "docs/cluster-mode.md",
  registry: "docs/discovery.md",
};

/** What parsing collects: options plus what the last step (`finishArgs`) turns into options. */
export interface ParsedArgs extends Partial<ServerOptions> {
  help?: boolean;
  repairLog?: boolean;
}

/** Raw values that need a second step (files to read, flags that only go together). */
export interface Draft extends ParsedArgs {
  authTokenFile?: string;
  natsServers?: string[];
  natsTokenFile?: string;
  natsCreds?: string;
  natsStream?: string;
  natsReplicas?: number;
}

export interface Flag<T = unknown> {
  /** Long name without "--", e.g. "data-dir". */
  name: string;
  /** One-letter alias, e.g. "h". */
  short?: string;
  /** Placeholder of the value, e.g. "PORT"; absent → a boolean switch. */
  arg?: string;
  /** A boolean that is on by default: `--help` and the docs show `--no-NAME` (both forms parse). */
  negatable?: boolean;
  /** Repeatable value flag: the value is the list of every occurrence. */
  repeatable?: boolean;
  group: FlagGroup;
  /** Environment variable used when the flag is absent. */
  env?: string;
  /** Default value (shown in `--help` and docs; put into `defaultServerOptions` unless `inDefaults` is false). */
  default?: T;
  /** How the default is shown, when `String(default)` is not right. */
  defaultText?: string;
  /** Markdown for the docs table's default cell, when the plain default is not enough. */
  docDefault?: string;
  /** The default lives elsewhere (e.g. `defaultLogConfig`); shown, not copied into `defaultServerOptions`. */
  inDefaults?: false;
  /** One line for `--help`. */
  help: string;
  /** Markdown for the docs table (default: `help`). */
  doc?: string;
  /** Not in the docs tables (`--help` itself). */
  undocumented?: true;
  /** Turns the text into the value, or throws an Error naming the flag; undefined = as if absent. Default: the text. */
  parse?: (text: string, flag: string) => T | undefined;
  /** Stores the value. */
  apply: (o: Draft, value: T) => void;
}

/** Declares a flag with its value type inferred. */
export function flag<T>(f: Flag<T>): Flag {
  return f as Flag;
}
