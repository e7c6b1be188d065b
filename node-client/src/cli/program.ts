import { Command, CommanderError } from "commander";
import { attachRuntime, examples } from "./action.ts";
import { clusterCommand } from "./commands/cluster.ts";
import { healthCommand } from "./commands/health.ts";
import { logCommand } from "./commands/log.ts";
import { nodesCommand } from "./commands/nodes.ts";
import { ordersCommand } from "./commands/orders.ts";
import { servicesCommand } from "./commands/services.ts";
import { tasksCommand } from "./commands/tasks.ts";
import type { Runtime } from "./context.ts";
import { ExitCode } from "./exit-codes.ts";
import { addGlobalOptions, createGlobalOptions } from "./global-options.ts";

/** A command whose module is imported only when it runs (e.g. `worker`, which loads etcd3). */
export interface LazyCommand {
  name: string;
  description: string;
  load: () => Promise<Command>;
}

/** Commands that bring their own connection flags and signal handling (e.g. `worker`). */
export interface ProgramOptions {
  extraCommands?: Command[];
  lazyCommands?: LazyCommand[];
}

/** Builds the `switchboard` command tree. */
export function createProgram(runtime: Runtime, options: ProgramOptions = {}): Command {
  const program = new Command("switchboard")
    .description("Command line for the Switchboard services: orders, the commit log, tasks and workers.")
    .enablePositionalOptions()
    .showSuggestionAfterError()
    .addHelpText(
      "after",
      "\nExit codes: 0 ok, 1 RPC error (status code name and message on stderr), 2 usage or input\n" +
        "error, 3 negative answer (health not SERVING, a waited-for task did not succeed), 130 Ctrl-C.\n" +
        examples(
          "switchboard orders get 102",
          "switchboard --server http://127.0.0.1:9090 --protocol connect orders search google --json",
          "seq 1 1000 | switchboard log produce",
          "switchboard log tail --follow",
          "switchboard tasks submit --wait echo hello",
          "switchboard health",
        ),
    );
  for (const o of createGlobalOptions("Global options (also accepted after the command name):")) program.addOption(o);
  program.addCommand(ordersCommand());
  program.addCommand(logCommand());
  program.addCommand(tasksCommand());
  program.addCommand(nodesCommand());
  program.addCommand(healthCommand());
  program.addCommand(servicesCommand());
  program.addCommand(clusterCommand());
  const own = new Set<Command>();
  collect(program, own);
  for (const extra of options.extraCommands ?? []) program.addCommand(extra);
  for (const lazy of options.lazyCommands ?? []) program.addCommand(lazyCommand(lazy, runtime));

  for (const c of allCommands(program)) {
    configure(c, runtime);
    if (own.has(c) && c !== program && c.commands.length === 0) addGlobalOptions(c);
  }
  attachRuntime(program, runtime);
  return program;
}

/** Settings commander does not pass on to commands added with addCommand(). */
function configure(c: Command, runtime: Runtime): void {
  c.exitOverride();
  c.configureOutput({
    writeOut: (s) => runtime.stdout.write(s),
    writeErr: (s) => runtime.stderr.write(s),
  });
  c.showHelpAfterError("(add --help for usage and examples)");
}

/**
 * A stand-in that takes every argument as it is, imports the real command
 * and runs it (so `worker --help` and its flags behave as the real command
 * defines them). The real command is attached below the program, so the
 * program's options (e.g. `switchboard --server URL worker`) stay visible to
 * it through optsWithGlobals().
 */
function lazyCommand(lazy: LazyCommand, runtime: Runtime): Command {
  const standIn: Command = new Command(lazy.name)
    .description(lazy.description)
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .passThroughOptions()
    .argument("[options...]")
    .action(async (args: string[]) => {
      const real = await lazy.load();
      for (const c of allCommands(real)) configure(c, runtime);
      real.parent = standIn.parent;
      await real.parseAsync(args, { from: "user" });
    });
  return standIn;
}

/**
 * Parses argv and runs the command. Resolves with the exit code: usage
 * errors (unknown command or flag, invalid value) → 2, help → 0, otherwise
 * the command's own code.
 */
export async function runProgram(program: Command, runtime: Runtime, argv: string[]): Promise<number> {
  try {
    await program.parseAsync(argv, { from: "user" });
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    throw err;
  }
  return runtime.exitCode ?? ExitCode.ok;
}

function collect(c: Command, into: Set<Command>): void {
  into.add(c);
  for (const sub of c.commands) collect(sub, into);
}

function allCommands(c: Command): Command[] {
  return [c, ...c.commands.flatMap(allCommands)];
}
