// The balancing transport against real in-process HTTP/2 servers (no etcd:
// a static resolver), for the retry, ejection and deadline rules.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Http2Server } from "node:http2";
import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { OrderService } from "@switchboard/gen/order/v1/order_pb.js";
import { createBalancedTransport } from "./balanced-transport.ts";
import { staticResolver } from "@switchboard/naming/resolver";

interface TestServer {
  address: string;
  calls: Map<string, number>;
  /** Error every call of this method throws, if set. */
  failWith?: Map<string, ConnectError>;
  server: Http2Server;
}

const servers: TestServer[] = [];
let deadAddress = "";

async function startTestServer(name: string): Promise<TestServer> {
  const ts: TestServer = { address: "", calls: new Map(), failWith: new Map(), server: undefined as unknown as Http2Server };
  const count = (m: string) => {
    ts.calls.set(m, (ts.calls.get(m) ?? 0) + 1);
    const err = ts.failWith?.get(m);
    if (err) throw err;
  };
  const handler = connectNodeAdapter({
    routes(router) {
      router.service(OrderService, {
        async getOrder(req, ctx) {
          count("getOrder");
          if (req.id === "slow") await new Promise((r) => ctx.signal.addEventListener("abort", r));
          return { order: { id: req.id, description: name } };
        },
        addOrder(req) {
          count("addOrder");
          return { id: req.order?.id ?? "" };
        },
        async *searchOrders() {
          count("searchOrders");
          yield { order: { id: "1", description: name } };
        },
        async updateOrders(reqs) {
          count("updateOrders");
          const ids: string[] = [];
          for await (const r of reqs) ids.push(r.order?.id ?? "");
          return { ids };
        },
      });
    },
  });
  ts.server = createServer(handler);
  await new Promise<void>((r) => ts.server.listen(0, "127.0.0.1", r));
  ts.address = `127.0.0.1:${(ts.server.address() as { port: number }).port}`;
  return ts;
}

before(async () => {
  servers.push(await startTestServer("a"), await startTestServer("b"), await startTestServer("c"));
  // A port nobody listens on: bind, note it, close.
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
  deadAddress = `127.0.0.1:${(probe.address() as { port: number }).port}`;
  await new Promise((r) => probe.close(r));
});
after(async () => {
  for (const s of servers) await new Promise((r) => s.server.close(r));
});

function reset() {
  for (const s of servers) {
    s.calls.clear();
    s.failWith?.clear();
  }
}

function balanced(addresses: string[], extra: Partial<Parameters<typeof createBalancedTransport>[0]> = {}) {
  const attempts: string[] = [];
  const record: Interceptor = (next) => (req) => {
    attempts.push(new URL(req.url).host);
    return next(req);
  };
  const transport = createBalancedTransport({
    resolver: staticResolver(OrderService.typeName, addresses),
    service: OrderService.typeName,
    interceptors: [record],
    random: () => 0, // rotation starts at the first address (the random start has its own test)
    ...extra,
  });
  return { transport, attempts, client: createClient(OrderService, transport) };
}

test("round-robin over the endpoints", async (t) => {
  reset();
  const { transport, client } = balanced(servers.map((s) => s.address));
  t.after(() => transport.close());
  const names: string[] = [];
  for (let i = 0; i < 6; i++) names.push((await client.getOrder({ id: "1" })).order!.description);
  assert.deepEqual(names, ["a", "b", "c", "a", "b", "c"]);
});

test("a refused connection is retried on another endpoint even for a non-idempotent method, and ejected", async (t) => {
  reset();
  const { transport, client, attempts } = balanced([deadAddress, servers[0]!.address]);
  t.after(() => transport.close());
  for (let i = 0; i < 4; i++) assert.equal((await client.addOrder({ order: { id: `x${i}` } })).id, `x${i}`);
  assert.equal(servers[0]!.calls.get("addOrder"), 4);
  assert.equal(attempts.filter((a) => a === deadAddress).length, 1, `the dead endpoint was ejected after one failure: ${attempts.join(" ")}`);
});

test("UNAVAILABLE from a server is retried for NO_SIDE_EFFECTS methods only", async (t) => {
  reset();
  servers[0]!.failWith!.set("getOrder", new ConnectError("busy", Code.Unavailable));
  servers[0]!.failWith!.set("addOrder", new ConnectError("busy", Code.Unavailable));
  const { transport, client } = balanced([servers[0]!.address, servers[1]!.address]);
  t.after(() => transport.close());
  assert.equal((await client.getOrder({ id: "1" })).order!.description, "b");
  assert.equal(servers[0]!.calls.get("getOrder"), 1);
  // Round-robin continues on a; AddOrder must not be sent twice.
  await assert.rejects(client.addOrder({ order: { id: "y" } }), (e: ConnectError) => e.code === Code.Unavailable);
  assert.equal(servers[1]!.calls.get("addOrder"), undefined);
});

test("application errors are not retried", async (t) => {
  reset();
  for (const s of servers) s.failWith!.set("getOrder", new ConnectError("no such order", Code.NotFound));
  const { transport, client, attempts } = balanced(servers.map((s) => s.address));
  t.after(() => transport.close());
  await assert.rejects(client.getOrder({ id: "1" }), (e: ConnectError) => e.code === Code.NotFound);
  assert.equal(attempts.length, 1);
});

test("the retry budget is bounded", async (t) => {
  reset();
  const { transport, client, attempts } = balanced([deadAddress], { maxAttempts: 3, retryBackoffMs: 1 });
  t.after(() => transport.close());
  await assert.rejects(client.addOrder({ order: { id: "z" } }), (e: ConnectError) => e.code === Code.Unavailable);
  assert.equal(attempts.length, 3);
});

test("the call's deadline is respected across retries", async (t) => {
  reset();
  const { transport, client } = balanced([deadAddress], { maxAttempts: 1000, retryBackoffMs: 20 });
  t.after(() => transport.close());
  await assert.rejects(
    client.getOrder({ id: "1" }, { timeoutMs: 300 }),
    (e: ConnectError) => e.code === Code.DeadlineExceeded,
  );
});

test("a call the caller cancels is not retried", async (t) => {
  reset();
  const { transport, client, attempts } = balanced(servers.map((s) => s.address));
  t.after(() => transport.close());
  const ac = new AbortController();
  const call = client.getOrder({ id: "slow" }, { signal: ac.signal });
  while (servers.every((s) => s.calls.get("getOrder") === undefined)) await new Promise((r) => setImmediate(r));
  ac.abort();
  await assert.rejects(call, (e: ConnectError) => e.code === Code.Canceled);
  assert.equal(attempts.length, 1);
});

test("no endpoints: UNAVAILABLE after waiting for some", async (t) => {
  const { transport, client } = balanced([], { waitForEndpointsMs: 100 });
  t.after(() => transport.close());
  await assert.rejects(client.getOrder({ id: "1" }), /no endpoints registered for order.v1.OrderService/);
});

test("streams: server streaming retried before the response begins; client streaming works", async (t) => {
  reset();
  const { transport, client } = balanced([deadAddress, servers[2]!.address]);
  t.after(() => transport.close());
  const got: string[] = [];
  for await (const r of client.searchOrders({ query: "" })) got.push(r.order!.description);
  assert.deepEqual(got, ["c"]);
  async function* updates() {
    yield { order: { id: "u1" } };
    yield { order: { id: "u2" } };
  }
  assert.deepEqual((await client.updateOrders(updates())).ids, ["u1", "u2"]);
});

test("a closed transport refuses calls", async () => {
  const { transport, client } = balanced([servers[0]!.address]);
  await transport.close();
  await assert.rejects(client.getOrder({ id: "1" }), /closed/);
});

test("fresh transports start their rotation at a random endpoint", async () => {
  const firsts = new Set<string>();
  for (const r of [0, 0.5, 0.99]) {
    const { transport, client, attempts } = balanced(servers.slice(0, 3).map((s) => s.address), { random: () => r });
    await client.getOrder({ id: "102" }).catch(() => {});
    firsts.add(attempts[0]!);
    await transport.close();
  }
  assert.equal(firsts.size, 3, `first calls went to ${[...firsts].join(", ")}`);
});
