import { CommanderError, type Command } from "commander";
import { Cli, type Runtime } from "./context.ts";
import { describeError } from "./errors.ts";
import { ExitCode, UsageError } from "./exit-codes.ts";
import { resolveGlobals, type GlobalOptions } from "./global-options.ts";

const runtimes = new WeakMap<Command, Runtime>();

/** Attaches the process runtime to the program, for the actions below it. */
export function attachRuntime(program: Command, runtime: Runtime): void {
  runtimes.set(program, runtime);
}

/**
 * Turns `(cli, ...arguments, options) => Promise<void>` into a commander
 * action: resolves the global options, hands the command a Cli, closes its
 * connections afterwards and records its exit code. A failure is reported on
 * stderr (code name, message, field violations; one JSON object with
 * --json) with exit code 1 for RPC errors and 2 for usage errors; after
 * Ctrl-C the exit code is 130.
 */
export function withCli<A extends unknown[]>(fn: (cli: Cli, ...args: A) => Promise<void>) {
  return async (...all: unknown[]): Promise<void> => {
    const command = all[all.length - 1] as Command;
    let root = command;
    while (root.parent) root = root.parent;
    const runtime = runtimes.get(root);
    if (!runtime) throw new Error("CLI runtime not attached to the program");
    let globals: GlobalOptions | undefined;
    let cli: Cli | undefined;
    try {
      globals = resolveGlobals(command, runtime.env);
      cli = new Cli(runtime, globals);
      await fn(cli, ...(all.slice(0, -1) as A));
      runtime.exitCode = runtime.signal.aborted ? ExitCode.interrupted : cli.exitCode;
    } catch (err) {
      if (runtime.signal.aborted) {
        runtime.stderr.write("interrupted: the call was cancelled\n");
        runtime.exitCode = ExitCode.interrupted;
      } else {
        const report = describeError(err instanceof CommanderError ? new UsageError(err.message) : err);
        runtime.stderr.write(
          globals?.json ? JSON.stringify(report.json) + "\n" : report.lines.join("\n") + "\n",
        );
        runtime.exitCode = report.exitCode;
      }
    } finally {
      await cli?.close();
    }
  };
}

/** "Examples:" help text. */
export function examples(...lines: string[]): string {
  return `\nExamples:\n${lines.map((l) => `  $ ${l}`).join("\n")}\n`;
}
