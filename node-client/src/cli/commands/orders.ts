import { create, fromJson, type JsonValue, type MessageInitShape } from "@bufbuild/protobuf";
import { Command, Option } from "commander";
import {
  CombinedShipmentSchema,
  OrderSchema,
  UpdateOrdersResponseSchema,
  AddOrderResponseSchema,
  type Order,
  ProcessOrdersRequestSchema,
  UpdateOrdersRequestSchema,
} from "@switchboard/gen/order/v1/order_pb.js";
import { examples, withCli } from "../action.ts";
import { UsageError } from "../exit-codes.ts";
import { formatCents, formatDetails, formatTable } from "../format.ts";
import { InputGuard, openInput, parseJsonLine, readLines, withAbort } from "../input.ts";
import { collect, parsePriceCents } from "../parse.ts";

/** `switchboard orders …`: order.v1.OrderService. */
export function ordersCommand(): Command {
  const orders = new Command("orders")
    .description("add, get, search, update and process orders (order.v1.OrderService)")
    .enablePositionalOptions()
    .addHelpText(
      "after",
      examples(
        "switchboard orders get 102",
        "switchboard orders search google --json",
        "switchboard orders add --id 200 --item 'USB-C cable' --destination 'Berlin, DE' --price 12.50",
        "switchboard orders search google --json | jq -c '.priceCents = \"100\"' | switchboard orders update",
        "printf '102\\n104\\n106\\n' | switchboard orders process",
      ),
    );

  orders
    .command("add")
    .description("add an order (AddOrder); the id is chosen by you")
    .requiredOption("--id <id>", "order id: 1-64 letters, digits, '-' or '_'")
    .addOption(new Option("--item <item>", "an item ordered (repeatable, at least one)").argParser(collect(String)))
    .requiredOption("--destination <destination>", "where the order is shipped")
    .addOption(new Option("--price <dollars>", "price in US dollars, e.g. 12.50").argParser(parsePriceCents))
    .option("--description <text>", "free-form description")
    .addHelpText("after", examples("switchboard orders add --id 200 --item Pixel --item Case --destination 'Berlin, DE' --price 799.00"))
    .action(
      withCli(async (cli, opts: { id: string; item?: string[]; destination: string; price?: bigint; description?: string }) => {
        const order = create(OrderSchema, {
          id: opts.id,
          items: opts.item ?? [],
          destination: opts.destination,
          priceCents: opts.price ?? 0n,
          description: opts.description ?? "",
        });
        const res = await cli.clients().orders.addOrder({ order }, cli.call());
        if (cli.json) cli.outJson(AddOrderResponseSchema, res);
        else cli.out(`added order ${res.id}\n`);
      }),
    );

  orders
    .command("get")
    .description("show one order (GetOrder)")
    .argument("<id>", "order id")
    .addHelpText("after", examples("switchboard orders get 102", "switchboard orders get 102 --json"))
    .action(
      withCli(async (cli, id: string) => {
        const res = await cli.clients().orders.getOrder({ id }, cli.call());
        const order = res.order ?? create(OrderSchema);
        if (cli.json) cli.outJson(OrderSchema, order);
        else {
          cli.out(
            formatDetails([
              ["id", order.id],
              ["items", order.items.join(", ")],
              ["description", order.description || "-"],
              ["price", formatCents(order.priceCents)],
              ["destination", order.destination],
            ]),
          );
        }
      }),
    );

  orders
    .command("search")
    .description("list the orders with an item containing QUERY, case-insensitive (SearchOrders, server streaming); no QUERY lists all")
    .argument("[query]", "text to look for in the items", "")
    .addHelpText("after", examples("switchboard orders search google", "switchboard orders search --json"))
    .action(
      withCli(async (cli, query: string) => {
        const rows: string[][] = [];
        for await (const res of cli.clients().orders.searchOrders({ query }, cli.call())) {
          const o = res.order ?? create(OrderSchema);
          if (cli.json) cli.outJson(OrderSchema, o);
          else rows.push(orderRow(o));
        }
        if (!cli.json) cli.out(rows.length ? formatTable(orderHeaders, rows) : "no orders found\n");
      }),
    );

  orders
    .command("update")
    .description("replace orders read as NDJSON, one Order per line (UpdateOrders, client streaming; atomic: all or none)")
    .option("--file <file>", "NDJSON file; default stdin ('-')")
    .addHelpText(
      "after",
      "\nEach line is an Order in protobuf JSON, e.g.\n" +
        '  {"id":"102","items":["Pixel 8"],"destination":"Mountain View, CA","priceCents":"70000"}\n' +
        "(the output of `orders get/search --json`). The server replaces every order or none.\n" +
        examples("switchboard orders update --file orders.ndjson", "switchboard orders search pixel --json | switchboard orders update"),
    )
    .action(
      withCli(async (cli, opts: { file?: string }) => {
        // The whole input is read and checked before anything is sent: the
        // call is all-or-nothing, so a malformed line (or Ctrl-C while
        // reading) must not leave a half-sent stream that the server could
        // take as complete. The server caps a call at 10,000 orders anyway.
        const input = await openInput(opts.file, cli.runtime.stdin, (t) => cli.note(t));
        const orders: Order[] = [];
        for await (const line of readLines(input.stream, cli.signal)) {
          if (cli.signal.aborted) break;
          orders.push(parseOrder(parseJsonLine(line, input.name), `${input.name} line ${line.lineNo}`));
        }
        cli.signal.throwIfAborted();
        const requests = async function* (): AsyncGenerator<MessageInitShape<typeof UpdateOrdersRequestSchema>> {
          for (const order of orders) yield { order };
        };
        const res = await cli.clients({ fullDuplex: true }).orders.updateOrders(requests(), cli.openCall());
        if (cli.json) cli.outJson(UpdateOrdersResponseSchema, res);
        else cli.out(res.ids.length ? `updated ${res.ids.length} order(s): ${res.ids.join(", ")}\n` : "no orders in the input; nothing updated\n");
      }),
    );

  orders
    .command("process")
    .description("group orders into combined shipments by destination (ProcessOrders, bidi streaming)")
    .argument("[ids...]", "order ids; without them, read NDJSON from --file or stdin")
    .option("--file <file>", "NDJSON file; default stdin ('-')")
    .addHelpText(
      "after",
      '\nInput lines: an order id (102), {"orderId":"102"}, or an Order ({"id":"102",…}).\n' +
        "Shipments are printed as the server sends them (every 3 ids, the rest at the end).\n" +
        examples(
          "switchboard orders process 102 103 104 105",
          "printf '102\\n104\\n' | switchboard orders process --json",
          "switchboard orders search google --json | switchboard orders process",
        ),
    )
    .action(
      withCli(async (cli, ids: string[], opts: { file?: string }) => {
        let source: AsyncIterable<MessageInitShape<typeof ProcessOrdersRequestSchema>>;
        if (ids.length > 0) {
          if (opts.file !== undefined) throw new UsageError("give order ids as arguments or --file, not both");
          source = (async function* () {
            for (const orderId of ids) yield { orderId };
          })();
        } else {
          const input = await openInput(opts.file, cli.runtime.stdin, (t) => cli.note(t));
          source = (async function* () {
            for await (const line of readLines(input.stream, cli.signal)) yield { orderId: parseOrderId(line.text, `${input.name} line ${line.lineNo}`) };
          })();
        }
        const guard = new InputGuard();
        const controller = new AbortController();
        let shipments = 0;
        try {
          const stream = cli
            .clients({ fullDuplex: true })
            .orders.processOrders(guard.wrap(source, controller), withAbort(cli.openCall(), controller));
          for await (const res of stream) {
            const s = res.shipment ?? create(CombinedShipmentSchema);
            shipments++;
            if (cli.json) cli.outJson(CombinedShipmentSchema, s);
            else {
              const dest = s.orders[0]?.destination ?? "-";
              cli.out(`shipment ${s.id}  ${s.status}  to ${dest}: ${s.orders.map((o) => o.id).join(", ")}\n`);
            }
          }
        } catch (err) {
          guard.rethrow(err);
        }
        if (!cli.json && shipments === 0) cli.out("no shipments (no order ids in the input)\n");
      }),
    );
  return orders;
}

const orderHeaders = ["ID", "DESTINATION", "PRICE", "ITEMS"];

function orderRow(o: Order): string[] {
  return [o.id, o.destination, formatCents(o.priceCents), o.items.join(", ")];
}

/** An NDJSON line → Order, strictly (unknown fields are a usage error: they are usually typos). */
export function parseOrder(json: unknown, where: string): Order {
  try {
    return fromJson(OrderSchema, json as JsonValue);
  } catch (err) {
    throw new UsageError(`${where}: not an Order: ${(err as Error).message}`);
  }
}

/** "102", {"orderId":"102"}, {"order_id":"102"} or {"id":"102",…} → "102". */
export function parseOrderId(text: string, where: string): string {
  const t = text.trim();
  if (!t.startsWith("{") && !t.startsWith('"')) return t;
  let v: unknown;
  try {
    v = JSON.parse(t);
  } catch (err) {
    throw new UsageError(`${where}: not JSON: ${(err as Error).message}`);
  }
  if (typeof v === "string") return v;
  if (v && typeof v === "object") {
    const o = v as Record<string, unknown>;
    const id = o.orderId ?? o.order_id ?? o.id;
    if (typeof id === "string" && id !== "") return id;
  }
  throw new UsageError(`${where}: expected an order id, {"orderId":…} or an Order with "id"`);
}
