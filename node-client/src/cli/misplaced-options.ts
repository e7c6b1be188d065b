import type { Command } from "commander";
import { UsageError } from "./exit-codes.ts";

/**
 * Long (and short) flag names `command` and its parents understand, e.g.
 * "--server", "-h", each with whether it takes a value.
 */
export function ownFlags(command: Command): Map<string, boolean> {
  const flags = new Map<string, boolean>([["--help", false], ["-h", false]]);
  for (let c: Command | null = command; c; c = c.parent) {
    for (const o of c.options) {
      const takesValue = o.required || o.optional;
      if (o.long) flags.set(o.long, takesValue);
      if (o.short) flags.set(o.short, takesValue);
    }
  }
  return flags;
}

/**
 * `switchboard tasks submit echo hi --server URL` hands `--server URL` to
 * echo (everything after PROGRAM belongs to it), so the call silently goes to
 * the default server. When an argument after PROGRAM is one of the CLI's own
 * flags and no `--` on the command line marks the split, this throws a usage
 * error that shows both correct forms. `raw` is the whole command line.
 */
export function refuseMisplacedOptions(
  program: string,
  args: readonly string[],
  flags: ReadonlyMap<string, boolean>,
  raw: readonly string[],
): void {
  const misplaced = args.filter((a) => flags.has(a.split("=")[0]!));
  if (misplaced.length === 0) return;
  const lastFlag = raw.lastIndexOf(misplaced[misplaced.length - 1]!);
  const separator = raw.indexOf("--");
  if (separator !== -1 && separator < lastFlag) return; // the user said where the program's arguments start
  const names = [...new Set(misplaced.map((a) => a.split("=")[0]!))].join(", ");
  const ours: string[] = [];
  const theirs: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const name = a.split("=")[0]!;
    if (flags.has(name)) {
      ours.push(a);
      // A flag that takes a value ("--server URL") takes the next argument with it.
      if (!a.includes("=") && i + 1 < args.length && !args[i + 1]!.startsWith("-") && flags.get(name)) ours.push(args[++i]!);
    } else {
      theirs.push(a);
    }
  }
  const quote = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`);
  const line = (parts: readonly string[]) => parts.map(quote).join(" ");
  // Without a "--", PROGRAM and its arguments are the tail of the command line.
  const before = raw.slice(0, raw.length - args.length - 1);
  throw new UsageError(
    `${names} after PROGRAM (${program}) would be passed to ${program}, not used by switchboard.\n` +
      `  switchboard's own options go before PROGRAM:\n` +
      `    switchboard ${line([...before, ...ours, program, ...theirs])}\n` +
      `  if they are ${program}'s own options, put -- before PROGRAM:\n` +
      `    switchboard ${line([...before, "--", program, ...args])}`,
  );
}
