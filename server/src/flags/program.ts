// Server flags → commander. The same declarations give the parser and `--help`.
import { readFile } from "node:fs/promises";
import { Command, CommanderError, Option } from "commander";
import type { NatsLogOptions } from "../config.ts";
import { serverFlags } from "./declarations.ts";
import type { Draft, Flag, FlagGroup, ParsedArgs } from "./flag.ts";

/** The commander options of one flag: the visible one, plus the hidden opposite of a boolean. */
function options(f: Flag, forHelp: boolean): Option[] {
  return optionsOf(f, forHelp).map((o) => o.helpGroup(groupTitles[f.group]));
}

const groupTitles: Record<FlagGroup, string> = {
  server: "Options:",
  log: "Commit log:",
  nats: "Commit log in NATS JetStream (--nats):",
  registry: "Registration in etcd:",
};

function optionsOf(f: Flag, forHelp: boolean): Option[] {
  const short = f.short ? `-${f.short}, ` : "";
  if (f.arg === undefined) {
    const on = new Option(`${short}--${f.name}`, f.help);
    const off = new Option(`--no-${f.name}`, f.help);
    if (f.negatable) on.hideHelp();
    else off.hideHelp();
    if (forHelp && !f.negatable && f.default === false) on.default(false, "off");
    return [on, off];
  }
  const o = new Option(`${short}--${f.name} <${f.arg}>`, f.help);
  if (f.repeatable) o.argParser((v: string, prev: string[] | undefined) => [...(prev ?? []), v]);
  if (forHelp) {
    const shown = f.default ?? f.defaultText;
    if (shown !== undefined) o.default(shown, f.defaultText ?? String(f.default));
    if (f.env !== undefined) o.env(f.env);
  }
  return [o];
}

/**
 * A commander program of every server flag. `forHelp` adds defaults and
 * environment variables for the help text only: parsing reports just what was
 * given, and reads the environment passed to `parseServerArgs`, not process.env.
 */
export function serverProgram(forHelp = false): Command {
  const program = new Command("switchboard-server")
    .helpOption(false)
    .exitOverride()
    .configureOutput({ writeOut: () => {}, writeErr: () => {} })
    .configureHelp({ helpWidth: 110 });
  for (const f of serverFlags) for (const o of options(f, forHelp)) program.addOption(o);
  return program;
}

/** `--help`: every flag with its default and environment variable. */
export const usage = serverProgram(true).helpInformation();

/** Parses command-line flags and environment variables into options. */
export async function parseServerArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<ParsedArgs> {
  const program = serverProgram();
  try {
    program.parse(argv, { from: "user" });
  } catch (err) {
    if (err instanceof CommanderError) throw new Error(err.message.replace(/^error: /, ""));
    throw err;
  }
  const draft: Draft = {};
  for (const f of serverFlags) {
    const key = new Option(`--${f.name}`).attributeName();
    const given = program.getOptionValueSource(key) === "cli" ? program.getOptionValue(key) : undefined;
    const raw: unknown = given ?? (f.env !== undefined ? env[f.env] : undefined);
    if (raw === undefined) continue;
    const value = typeof raw === "string" && f.parse ? f.parse(raw, `--${f.name}`) : raw;
    if (value !== undefined) f.apply(draft, value);
  }
  return finishArgs(draft, env);
}

/** What needs more than one flag, or a file read. */
async function finishArgs(draft: Draft, env: NodeJS.ProcessEnv): Promise<ParsedArgs> {
  const { authTokenFile, natsServers, natsTokenFile, natsCreds, natsStream, natsReplicas, ...opts } = draft;
  if ((opts.tlsCert === undefined) !== (opts.tlsKey === undefined)) throw new Error("--tls-cert and --tls-key go together");
  if (authTokenFile !== undefined) opts.authToken = (await readFile(authTokenFile, "utf8")).trim();
  const natsOnly: Array<[string, unknown]> = [["nats-token-file", natsTokenFile], ["nats-creds", natsCreds], ["log-stream", natsStream], ["log-replicas", natsReplicas]];
  if (natsServers === undefined) {
    const given = natsOnly.find(([, v]) => v !== undefined);
    if (given) throw new Error(`--${given[0]} needs --nats (or $NATS_URL)`);
    return opts;
  }
  const nats: NatsLogOptions = { servers: natsServers };
  if (natsCreds !== undefined) nats.auth = { creds: await readFile(natsCreds) };
  else if (natsTokenFile !== undefined) nats.auth = { token: (await readFile(natsTokenFile, "utf8")).trim() };
  else if (env.NATS_TOKEN) nats.auth = { token: env.NATS_TOKEN };
  else if (env.NATS_USER) nats.auth = { user: env.NATS_USER, ...(env.NATS_PASSWORD !== undefined ? { pass: env.NATS_PASSWORD } : {}) };
  if (natsStream !== undefined) nats.stream = natsStream;
  if (natsReplicas !== undefined) nats.replicas = natsReplicas;
  opts.nats = nats;
  return opts;
}

/** `defaultServerOptions`' share of the flags: every declared default. */
export function flagDefaults(): ParsedArgs {
  const draft: Draft = {};
  for (const f of serverFlags) if (f.default !== undefined && f.inDefaults !== false) f.apply(draft, f.default);
  delete draft.help;
  return draft;
}
