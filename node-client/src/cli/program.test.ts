// Every command of the tree has help with examples of itself, and the
// global options reach every leaf command (table-driven over the tree).
import { test } from "node:test";
import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import type { Command } from "commander";
import { createProgram, runProgram } from "./program.ts";

function newRuntime() {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = "";
  let err = "";
  stdout.on("data", (d) => (out += String(d)));
  stderr.on("data", (d) => (err += String(d)));
  const runtime = { stdin: new PassThrough(), stdout, stderr, env: {}, signal: new AbortController().signal };
  return { runtime, out: () => out, err: () => err };
}

function leaves(c: Command, path: string[] = []): Array<{ path: string[]; command: Command }> {
  const here = c.parent ? [...path, c.name()] : path;
  if (c.commands.length === 0) return [{ path: here, command: c }];
  return [{ path: here, command: c }, ...c.commands.flatMap((s) => leaves(s, here))];
}

test("every command's help has examples of that command", () => {
  const { runtime } = newRuntime();
  const program = createProgram(runtime);
  const all = leaves(program).filter((l) => l.path.length > 0);
  assert.deepEqual(
    all.map((l) => l.path.join(" ")),
    [
      "orders", "orders add", "orders get", "orders search", "orders update", "orders process",
      "log", "log produce", "log consume", "log tail", "log offsets",
      "tasks", "tasks submit", "tasks get", "tasks list", "tasks watch", "tasks cancel",
      "nodes", "nodes list", "health", "services", "cluster", "cluster status",
    ],
  );
  for (const { path, command } of all) {
    let help = "";
    command.configureOutput({ writeOut: (s) => (help += s) });
    command.outputHelp();
    assert.match(help, /Examples:\n/, path.join(" "));
    assert.ok(help.includes(`$ switchboard ${path.join(" ")}`), `${path.join(" ")}: an example of the command itself`);
    if (command.commands.length === 0) {
      for (const flag of ["--server", "--etcd", "--protocol", "--token", "--json"]) {
        assert.ok(help.includes(flag), `${path.join(" ")} accepts ${flag}`);
      }
    }
  }
});

test("usage errors resolve to exit code 2, help to 0", async () => {
  const cases: Array<[string[], number, RegExp]> = [
    [["--help"], 0, /Usage: switchboard/],
    [["orders", "--help"], 0, /Usage: switchboard orders/],
    [["nope"], 2, /unknown command 'nope'/],
    [["orders"], 2, /Usage: switchboard orders/],
    [["orders", "get"], 2, /missing required argument 'id'/],
    [["tasks", "list", "--state", "done"], 2, /not a task state/],
    [["log", "tail", "--from", "1", "--last", "2"], 2, /cannot be used with/],
    [["health", "--http-version", "3"], 2, /Allowed choices are 1\.1, 2/],
  ];
  for (const [argv, code, message] of cases) {
    const { runtime, out, err } = newRuntime();
    const program = createProgram(runtime);
    assert.equal(await runProgram(program, runtime, argv), code, argv.join(" "));
    assert.match(out() + err(), message, argv.join(" "));
  }
});
