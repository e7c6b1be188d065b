// `switchboard orders …`, usage errors and RPC errors, run as subprocesses
// against a real server process.
import { test } from "node:test";
import assert from "node:assert/strict";
import { jsonLines, runCli } from "@switchboard/test-harness/cli";
import { startServerProcess } from "@switchboard/test-harness/server-process";

interface OrderJson {
  id: string;
  items: string[];
  description: string;
  priceCents: string;
  destination: string;
}

test("switchboard orders", async (t) => {
  const server = await startServerProcess({ args: ["--no-request-log"] });
  t.after(() => server.cleanup());
  const S = ["--server", server.url];

  await t.test("get: a table for people, the Order as JSON with --json", async () => {
    const human = await runCli(["orders", "get", "102", ...S]);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /^id:\s+102$/m);
    assert.match(human.stdout, /^price:\s+\$1,800\.00$/m);
    const json = await runCli([...S, "--json", "orders", "get", "102"]);
    assert.equal(json.code, 0, json.stderr);
    const [order] = jsonLines<OrderJson>(json.stdout);
    assert.deepEqual(order, {
      id: "102",
      items: ["Google Pixel 3A", "Mac Book Pro"],
      description: "Google Pixel 3A, Mac Book Pro",
      priceCents: "180000",
      destination: "Mountain View, CA",
    });
  });

  await t.test("search streams one JSON object per matching order, over every protocol", async () => {
    for (const proto of [["--protocol", "grpc"], ["--protocol", "connect", "--http-version", "1.1"], ["--protocol", "grpc-web"]]) {
      const r = await runCli(["orders", "search", "GOOGLE", "--json", ...S, ...proto]);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(jsonLines<OrderJson>(r.stdout).map((o) => o.id), ["102", "104"], proto.join(" "));
    }
    // An empty result is an empty stream that must still end (status OK in the trailers).
    for (const proto of ["grpc", "connect", "grpc-web"]) {
      const empty = await runCli(["--timeout", "10s", "orders", "search", "no such item", "--protocol", proto, ...S]);
      assert.equal(empty.code, 0, `${proto}: ${empty.stderr}`);
      assert.equal(empty.stdout, "no orders found\n");
    }
    const none = await runCli(["--timeout", "10s", "orders", "search", "no such item", "--json", "--protocol", "connect", ...S]);
    assert.equal(none.code, 0, none.stderr);
    assert.equal(none.stdout, "", "no JSON lines for no orders");
  });

  await t.test("add then get; invalid order → INVALID_ARGUMENT with field violations, exit 1", async () => {
    const add = await runCli(["orders", "add", "--id", "cli-1", "--item", "Cable", "--item", "Plug", "--destination", "Berlin, DE", "--price", "12.50", "--json", ...S]);
    assert.equal(add.code, 0, add.stderr);
    assert.deepEqual(jsonLines(add.stdout), [{ id: "cli-1" }]);
    const get = await runCli(["orders", "get", "cli-1", "--json", ...S]);
    const [order] = jsonLines<OrderJson>(get.stdout);
    assert.deepEqual([order?.items, order?.priceCents], [["Cable", "Plug"], "1250"]);

    const bad = await runCli(["orders", "add", "--id", "bad id!", "--destination", "x", ...S]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^error: INVALID_ARGUMENT: /m);
    assert.match(bad.stderr, /^ {2}order\.id: .*\(INVALID_FORMAT\)$/m);
    assert.match(bad.stderr, /^ {2}order\.items: .*\(REQUIRED\)$/m);
    const badJson = await runCli(["orders", "add", "--id", "bad id!", "--destination", "x", "--json", ...S]);
    assert.equal(badJson.code, 1);
    assert.equal(badJson.stdout, "");
    const [err] = jsonLines<{ error: { code: string; fieldViolations: Array<{ field: string; reason: string }> } }>(badJson.stderr);
    assert.equal(err?.error.code, "INVALID_ARGUMENT");
    assert.deepEqual(err?.error.fieldViolations.map((v) => [v.field, v.reason]), [["order.id", "INVALID_FORMAT"], ["order.items", "REQUIRED"]]);

    const dup = await runCli(["orders", "add", "--id", "cli-1", "--item", "x", "--destination", "y", ...S]);
    assert.equal(dup.code, 1);
    assert.match(dup.stderr, /^error: ALREADY_EXISTS: /m);
  });

  await t.test("get of an unknown order → NOT_FOUND on stderr, exit 1", async () => {
    const r = await runCli(["orders", "get", "nope", ...S]);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /^error: NOT_FOUND: order "nope" not found/m);
  });

  await t.test("update reads NDJSON from stdin: search --json | edit | update", async () => {
    const search = await runCli(["orders", "search", "apple", "--json", ...S]);
    const edited = jsonLines<OrderJson>(search.stdout).map((o) => JSON.stringify({ ...o, priceCents: "777" }));
    assert.equal(edited.length, 2);
    const upd = await runCli(["orders", "update", "--json", ...S], { input: edited.join("\n") + "\n" });
    assert.equal(upd.code, 0, upd.stderr);
    assert.deepEqual(jsonLines(upd.stdout), [{ ids: ["103", "106"] }]);
    for (const id of ["103", "106"]) {
      const [o] = jsonLines<OrderJson>((await runCli(["orders", "get", id, "--json", ...S])).stdout);
      assert.equal(o?.priceCents, "777");
    }
  });

  await t.test("update: a malformed line is a usage error (exit 2) and nothing is updated", async () => {
    const input = '{"id":"105","items":["changed"],"destination":"x","priceCents":"1"}\n{"id":"105", oops\n';
    const r = await runCli(["orders", "update", ...S], { input });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /stdin line 2: not JSON/);
    const unknownField = await runCli(["orders", "update", ...S], { input: '{"id":"105","itemz":["x"]}\n' });
    assert.equal(unknownField.code, 2);
    assert.match(unknownField.stderr, /stdin line 1: not an Order/);
    const [o] = jsonLines<OrderJson>((await runCli(["orders", "get", "105", "--json", ...S])).stdout);
    assert.deepEqual(o?.items, ["Amazon Echo"]);
  });

  await t.test("update: an unknown order fails the whole call (NOT_FOUND, exit 1)", async () => {
    const input = '{"id":"104","items":["changed"],"destination":"x"}\n{"id":"nope","items":["x"],"destination":"x"}\n';
    const r = await runCli(["orders", "update", ...S], { input });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^error: NOT_FOUND: /m);
    const [o] = jsonLines<OrderJson>((await runCli(["orders", "get", "104", "--json", ...S])).stdout);
    assert.deepEqual(o?.items, ["Google Home Mini", "Google Nest Hub"]);
  });

  await t.test("update --file reads a file; a missing file is a usage error", async () => {
    const missing = await runCli(["orders", "update", "--file", "/nonexistent/orders.ndjson", ...S]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /cannot read \/nonexistent\/orders\.ndjson: ENOENT/);
  });

  await t.test("process reads ids (plain, {orderId}, Order JSON) from stdin and streams shipments", async () => {
    const input = '102\n{"orderId":"103"}\n\n{"id":"104","items":["x"]}\n105\n106\n';
    for (const proto of [[], ["--protocol", "grpc-web"], ["--protocol", "connect", "--http-version", "1.1"]]) {
      const r = await runCli(["orders", "process", "--json", ...S, ...proto], { input });
      assert.equal(r.code, 0, r.stderr);
      const shipments = jsonLines<{ id: string; status: string; orders: OrderJson[] }>(r.stdout);
      const ids = shipments.flatMap((s) => s.orders.map((o) => o.id)).sort();
      assert.deepEqual(ids, ["102", "103", "104", "105", "106"], proto.join(" "));
      for (const s of shipments) {
        assert.equal(s.status, "Processed!");
        assert.equal(new Set(s.orders.map((o) => o.destination)).size, 1, "one destination per shipment");
      }
    }
    const args = await runCli(["orders", "process", "102", "104", ...S]);
    assert.equal(args.code, 0, args.stderr);
    assert.match(args.stdout, /^shipment \S+ {2}Processed! {2}to Mountain View, CA: 102, 104$/m);
    const unknown = await runCli(["orders", "process", "102", "nope", ...S]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /^error: NOT_FOUND: /m);
  });

  await t.test("usage errors exit 2 and say what is wrong", async () => {
    const cases: Array<[string[], RegExp]> = [
      [["orders", "frobnicate"], /unknown command 'frobnicate'/],
      [["orders", "get"], /missing required argument 'id'/],
      [["orders", "get", "1", "--bogus"], /unknown option '--bogus'/],
      [["orders", "add", "--id", "x", "--destination", "y", "--price", "12.345"], /not a price in dollars/],
      [["--protocol", "soap", "orders", "get", "1"], /not a protocol/],
      [["orders", "get", "1", "--server", "ftp://x"], /must start with http/],
      [["--timeout", "soon", "orders", "get", "1"], /not a duration/],
      [["log", "consume", "-1"], /unknown option|not an offset/],
      [["orders", "process", "102", "--file", "x.ndjson"], /not both/],
    ];
    for (const [args, message] of cases) {
      const r = await runCli([...args, ...S]);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, message, args.join(" "));
      assert.equal(r.stdout, "", args.join(" "));
    }
  });

  await t.test("--help exits 0 and prints the exit codes; `worker --help` reaches the lazily loaded worker command", async () => {
    const top = await runCli(["--help"]);
    assert.equal(top.code, 0);
    assert.match(top.stdout, /Exit codes: 0 ok, 1 RPC error/);
    const worker = await runCli(["worker", "--help"]);
    assert.equal(worker.code, 0);
    assert.match(worker.stdout, /--allow <list>/);
    // (every command's examples: node-client/src/cli/program.test.ts)
  });

  await t.test("nothing listening → UNAVAILABLE, exit 1 (an RPC error, not a usage error)", async () => {
    const r = await runCli(["orders", "get", "102", "--server", "http://127.0.0.1:1"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^error: UNAVAILABLE: /m);
  });

  await t.test("SWITCHBOARD_SERVER sets the server", async () => {
    const env = await runCli(["orders", "get", "103", "--json"], { env: { SWITCHBOARD_SERVER: server.url } });
    assert.equal(env.code, 0, env.stderr);
    assert.equal(jsonLines<OrderJson>(env.stdout)[0]?.id, "103");
  });
});
