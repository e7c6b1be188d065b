// The Node client script: a tour of every Switchboard service through
// createClients(). Copy it as the start of your own script.
//
//   npm run example -w node-client -- --server http://localhost:8080
//
// It needs a running server (`npm start`) and, for the last step, a worker
// that may run `echo` (`npx switchboard worker --allow echo`).
import { parseArgs } from "node:util";
import { Code, ConnectError } from "@connectrpc/connect";
import { TaskState } from "@switchboard/gen/node/v1/node_pb.js";
import { createClients, protocols, type Protocol } from "../src/index.ts";

const { values: flags } = parseArgs({
  options: {
    server: { type: "string", default: process.env.SWITCHBOARD_SERVER ?? "http://localhost:8080" },
    protocol: { type: "string", default: "grpc" },
    token: { type: "string", default: process.env.SWITCHBOARD_TOKEN },
    "task-timeout": { type: "string", default: "60" },
  },
});
if (!(protocols as readonly string[]).includes(flags.protocol)) {
  throw new Error(`--protocol must be one of ${protocols.join(", ")}`);
}

const sb = createClients({
  baseUrl: flags.server,
  protocol: flags.protocol as Protocol,
  token: flags.token,
  timeoutMs: 10_000, // per call, unless a call says otherwise
});
const step = (text: string) => console.log(`\n== ${text}`);

try {
  // 1. Orders: add one, search, update it over a client stream, process into shipments.
  const id = `example-${Date.now()}`;
  step(`add order ${id}`);
  await sb.orders.addOrder({
    order: { id, items: ["USB-C cable", "Charger"], destination: "Berlin, DE", priceCents: 2_500n },
  });
  const { order } = await sb.orders.getOrder({ id });
  console.log(`stored: ${order?.items.join(", ")} → ${order?.destination}`);

  step('search "usb"');
  for await (const { order: found } of sb.orders.searchOrders({ query: "usb" })) {
    console.log(`found ${found?.id}: ${found?.items.join(", ")}`);
  }

  step("update orders (client streaming: all or none)");
  const updates = async function* () {
    yield { order: { id, items: ["USB-C cable", "Charger", "Case"], destination: "Berlin, DE", priceCents: 3_000n } };
    yield { order: { id: "103", items: ["Apple Watch S4"], destination: "San Jose, CA", priceCents: 40_000n } };
  };
  const updated = await sb.orders.updateOrders(updates());
  console.log(`updated: ${updated.ids.join(", ")}`);

  step("process orders into shipments (bidi streaming)");
  const ids = async function* () {
    for (const orderId of [id, "102", "103", "104"]) yield { orderId };
  };
  for await (const { shipment } of sb.orders.processOrders(ids())) {
    console.log(`shipment ${shipment?.id} (${shipment?.status}): ${shipment?.orders.map((o) => o.id).join(", ")}`);
  }

  // 2. Log: follow the tail, produce three records, see them arrive, stop the tail.
  step("produce and tail log records");
  const offsets = await sb.log.getOffsets({});
  const from = offsets.nextOffset;
  const tailing = new AbortController();
  const received: string[] = [];
  const tail = (async () => {
    try {
      // timeoutMs: 0 — no deadline for an open-ended stream; it ends when we abort.
      for await (const { record } of sb.log.consumeStream({ offset: from }, { signal: tailing.signal, timeoutMs: 0 })) {
        const text = new TextDecoder().decode(record?.value);
        console.log(`tail: offset ${record?.offset} = ${text}`);
        received.push(text);
        if (received.length === 3) tailing.abort();
      }
    } catch (err) {
      if (ConnectError.from(err).code !== Code.Canceled) throw err;
    }
  })();
  const records = async function* () {
    for (const text of ["hello", "from", "the example"]) yield { record: { value: new TextEncoder().encode(text) } };
  };
  for await (const ack of sb.log.produceStream(records())) console.log(`produced offset ${ack.offset}`);
  await tail;

  // 3. Tasks: submit `echo`, then watch it until it finishes.
  step("submit a task and wait for its result");
  const { taskId } = await sb.nodes.submitTask({ command: { program: "echo", args: ["hello from a worker"] } });
  console.log(`submitted task ${taskId}`);
  const waitMs = Number(flags["task-timeout"]) * 1000;
  let final;
  try {
    for await (const { task } of sb.nodes.watchTasks({ taskId, sendInitial: true }, { timeoutMs: waitMs })) {
      if (!task) continue; // end-of-snapshot marker
      console.log(`task ${TaskState[task.state]}`);
      if (task.state === TaskState.SUCCEEDED || task.state === TaskState.FAILED || task.state === TaskState.CANCELLED) {
        final = task;
        break;
      }
    }
  } catch (err) {
    if (ConnectError.from(err).code === Code.DeadlineExceeded) {
      throw new Error(`no worker finished the task within ${flags["task-timeout"]} s: start one with \`npx switchboard worker --allow echo\``);
    }
    throw err;
  }
  if (final?.state !== TaskState.SUCCEEDED) throw new Error(`task ended ${final ? TaskState[final.state] : "without a result"}: ${final?.reason}`);
  console.log(`result: exit ${final.result?.exitCode}, stdout: ${JSON.stringify(final.result?.stdout)}`);
  console.log("\nexample finished");
} finally {
  await sb.close();
}
