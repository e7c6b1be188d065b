import { test } from "node:test";
import assert from "node:assert/strict";
import { Code, ConnectError } from "@connectrpc/connect";
import { follow, isReconnectable } from "./follow.ts";

test("isReconnectable: the server went away vs. errors a reconnect cannot fix", () => {
  const reset = Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" });
  const cases: Array<[string, ConnectError, boolean]> = [
    ["server shutting down", new ConnectError("server is shutting down", Code.Unavailable), true],
    ["server died mid-stream", new ConnectError("http/2 stream closed with error code CANCEL (0x8)", Code.Canceled), true],
    ["connection reset", Object.assign(new ConnectError("reset", Code.Internal), { cause: reset }), true],
    ["deadline", new ConnectError("deadline exceeded", Code.DeadlineExceeded), false],
    ["offset gone", new ConnectError("offset 5 is out of range", Code.OutOfRange), false],
    ["bad token", new ConnectError("bad token", Code.Unauthenticated), false],
  ];
  for (const [name, err, want] of cases) assert.equal(isReconnectable(err), want, name);
});

test("follow: reopens after the server went away, from the caller's position, and notes it", async () => {
  const opened: number[] = [];
  const got: number[] = [];
  const notes: string[] = [];
  let position = 0;
  await follow({
    open: () => {
      opened.push(position);
      const from = position;
      const run = opened.length;
      return (async function* () {
        yield from;
        yield from + 1;
        if (run < 3) throw new ConnectError("server is shutting down", Code.Unavailable);
      })();
    },
    onMessage: (n) => {
      got.push(n);
      position = n + 1;
    },
    signal: new AbortController().signal,
    note: (t) => notes.push(t),
    backoff: { initialMs: 1, maxMs: 2 },
  });
  assert.deepEqual(opened, [0, 2, 4]);
  assert.deepEqual(got, [0, 1, 2, 3, 4, 5]);
  assert.equal(notes.filter((n) => n.startsWith("connection lost")).length, 2);
  assert.equal(notes.filter((n) => n.startsWith("reconnected")).length, 2);
});

test("follow: other errors end it; Ctrl-C while waiting ends it as CANCELED", async () => {
  await assert.rejects(
    follow({
      open: () => (async function* () { throw new ConnectError("nope", Code.PermissionDenied); })(),
      onMessage: () => {},
      signal: new AbortController().signal,
      note: () => {},
    }),
    (e: ConnectError) => e.code === Code.PermissionDenied,
  );
  const ac = new AbortController();
  let opens = 0;
  const run = follow({
    open: () => {
      opens++;
      return (async function* () { throw new ConnectError("down", Code.Unavailable); })();
    },
    onMessage: () => {},
    signal: ac.signal,
    note: () => ac.abort(),
    backoff: { initialMs: 60_000, maxMs: 60_000 },
  });
  await assert.rejects(run, (e: ConnectError) => e.code === Code.Canceled);
  assert.equal(opens, 1);
});

test("follow: the deadline covers the reconnects", async () => {
  await assert.rejects(
    follow({
      open: () => (async function* () { throw new ConnectError("down", Code.Unavailable); })(),
      onMessage: () => {},
      signal: new AbortController().signal,
      timeoutMs: 150,
      note: () => {},
      backoff: { initialMs: 20, maxMs: 40 },
    }),
    (e: ConnectError) => e.code === Code.DeadlineExceeded && /down/.test(e.rawMessage),
  );
});
