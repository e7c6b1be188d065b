import { test } from "node:test";
import assert from "node:assert/strict";
import { UsageError } from "./exit-codes.ts";
import { refuseMisplacedOptions } from "./misplaced-options.ts";

const flags = new Map([
  ["--server", true],
  ["--token", true],
  ["--wait", false],
  ["--json", false],
  ["--label", true],
  ["--help", false],
  ["-h", false],
]);

test("CLI options after PROGRAM are refused unless -- marks the split (table)", () => {
  const cases: Array<{ raw: string[]; program: string; args: string[]; refused: boolean }> = [
    { raw: ["tasks", "submit", "echo", "hi", "--server", "http://h:9000"], program: "echo", args: ["hi", "--server", "http://h:9000"], refused: true },
    { raw: ["tasks", "submit", "echo", "--wait"], program: "echo", args: ["--wait"], refused: true },
    { raw: ["tasks", "submit", "echo", "--label=a=b"], program: "echo", args: ["--label=a=b"], refused: true },
    { raw: ["tasks", "submit", "--", "echo", "hi", "--server", "x"], program: "echo", args: ["hi", "--server", "x"], refused: false },
    { raw: ["tasks", "submit", "echo", "--", "--server", "x"], program: "echo", args: ["--", "--server", "x"], refused: false },
    { raw: ["tasks", "submit", "ls", "-la", "--color"], program: "ls", args: ["-la", "--color"], refused: false },
    { raw: ["tasks", "submit", "echo", "--servers"], program: "echo", args: ["--servers"], refused: false },
  ];
  for (const c of cases) {
    const run = () => refuseMisplacedOptions(c.program, c.args, flags, c.raw);
    if (c.refused) assert.throws(run, UsageError, c.raw.join(" "));
    else assert.doesNotThrow(run, c.raw.join(" "));
  }
});

test("the refusal shows both correct forms, keeping what came before PROGRAM", () => {
  const raw = ["--timeout", "5s", "tasks", "submit", "--label", "a=b", "echo", "hi there", "--server", "http://h:9000", "--wait"];
  assert.throws(
    () => refuseMisplacedOptions("echo", ["hi there", "--server", "http://h:9000", "--wait"], flags, raw),
    (err: Error) => {
      assert.equal(
        err.message,
        "--server, --wait after PROGRAM (echo) would be passed to echo, not used by switchboard.\n" +
          "  switchboard's own options go before PROGRAM:\n" +
          "    switchboard --timeout 5s tasks submit --label a=b --server http://h:9000 --wait echo 'hi there'\n" +
          "  if they are echo's own options, put -- before PROGRAM:\n" +
          "    switchboard --timeout 5s tasks submit --label a=b -- echo 'hi there' --server http://h:9000 --wait",
      );
      return true;
    },
  );
});
