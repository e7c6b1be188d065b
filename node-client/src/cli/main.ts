#!/usr/bin/env node
// The `switchboard` command line. Run it with `npm run switchboard -- …` from
// the repository root, `npx switchboard …` (workspace bin) or
// `node node-client/src/cli/main.ts …` on Node 24.
import { Code, ConnectError } from "@connectrpc/connect";
import type { Command } from "commander";
import { describeError } from "./errors.ts";
import { ExitCode } from "./exit-codes.ts";
import { createProgram, runProgram } from "./program.ts";

const interrupt = new AbortController();
const runtime = {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  signal: interrupt.signal,
};

// `switchboard … | head` closes stdout early: that is not an error.
process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  if (err.code === "EPIPE") process.exit(runtime.signal.aborted ? ExitCode.interrupted : ExitCode.ok);
  throw err;
});

// `worker` (issue 4) brings its own connection flags and SIGINT/SIGTERM
// draining; it is imported only when it runs (it loads the etcd client).
const program = createProgram(runtime, {
  lazyCommands: [
    {
      name: "worker",
      description: "run tasks from the master (node.v1.NodeService) — only allowlisted programs, never a shell",
      load: async () => (await import("./commands/worker.ts")).workerCommand(),
    },
  ],
});
const selfManaged = new Set(["worker"]);

// Ctrl-C: the first one cancels the running call (the command then exits
// 130 once the stream is torn down), a second one exits at once. Commands
// like `worker` handle signals themselves (they drain first).
program.hook("preAction", (_root, action) => {
  let top: Command = action;
  while (top.parent && top.parent.parent) top = top.parent;
  if (selfManaged.has(top.name())) return;
  process.on("SIGINT", () => {
    if (interrupt.signal.aborted) process.exit(ExitCode.interrupted);
    interrupt.abort(new ConnectError("interrupted (Ctrl-C)", Code.Canceled));
  });
});

let code: number;
try {
  code = await runProgram(program, runtime, process.argv.slice(2));
} catch (err) {
  // Failures of commands that do not report their own (e.g. `worker` start-up).
  const report = describeError(err);
  process.stderr.write(report.lines.join("\n") + "\n");
  code = report.exitCode;
}
// Flush stdout (a pipe may still hold output), then exit even if stdin or a
// connection would keep the event loop alive.
process.stdout.write("", () => process.exit(code));
