import { test } from "node:test";
import assert from "node:assert/strict";
import { CappedOutput } from "./capped-output.ts";
import { childEnv, parseEnvPairs, safePath } from "./child-env.ts";

test("CappedOutput keeps the first cap bytes and flags truncation", () => {
  const table: Array<{ cap: number; chunks: string[]; text: string; truncated: boolean }> = [
    { cap: 10, chunks: [], text: "", truncated: false },
    { cap: 10, chunks: ["hello"], text: "hello", truncated: false },
    { cap: 5, chunks: ["hel", "lo"], text: "hello", truncated: false },
    { cap: 4, chunks: ["hel", "lo", "!"], text: "hell", truncated: true },
    { cap: 0, chunks: ["x"], text: "", truncated: true },
  ];
  for (const c of table) {
    const out = new CappedOutput(c.cap);
    for (const ch of c.chunks) out.write(Buffer.from(ch));
    assert.equal(out.text(), c.text);
    assert.equal(out.truncated, c.truncated);
  }
  const cut = new CappedOutput(1);
  cut.write(Buffer.from("é"));
  assert.equal(cut.text(), "\uFFFD", "a cut character is replaced, the text stays valid UTF-8");
});

test("childEnv: nothing inherited by default; --inherit-env and --env", () => {
  const parent = { SECRET_TOKEN: "s3cret", PATH: "/opt/evil:/usr/bin", HOME: "/root" };
  const task = { id: "t1", attempt: 2, dir: "/work/t1-2" };
  assert.deepEqual(childEnv({}, task, parent), {
    PATH: safePath,
    HOME: "/work/t1-2",
    TMPDIR: "/work/t1-2",
    SWITCHBOARD_TASK_ID: "t1",
    SWITCHBOARD_TASK_ATTEMPT: "2",
  });
  const inherited = childEnv({ inheritEnv: true }, task, parent);
  assert.equal(inherited.SECRET_TOKEN, "s3cret");
  assert.equal(inherited.PATH, "/opt/evil:/usr/bin");
  assert.equal(childEnv({ env: { LANG: "C.UTF-8", PATH: "/bin" } }, task, parent).PATH, "/bin");
  assert.deepEqual(parseEnvPairs(["A=1", "B=x=y", "C="]), { A: "1", B: "x=y", C: "" });
  assert.throws(() => parseEnvPairs(["=1"]), /KEY=VALUE/);
  assert.throws(() => parseEnvPairs(["NOEQUALS"]), /KEY=VALUE/);
});
