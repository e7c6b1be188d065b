import { useState, type FormEvent } from "react";
import { OrderService, type Order } from "@switchboard/gen/order/v1/order_pb.js";
import { Empty, ErrorMessage, Loading, Panel } from "../../components/status.tsx";
import { formatCents } from "../../lib/format.ts";
import { Link } from "../../lib/router.tsx";
import { useTransportChoice } from "../../lib/transport-context.tsx";
import { useServerStream } from "../../lib/use-stream.ts";
import { OrderForm } from "./order-form.tsx";
import { useClient } from "../../lib/use-client.ts";

interface Search {
  query: string;
  /** Bumped to run the same query again. */
  run: number;
}

/** Orders: a search box whose SearchOrders stream fills the table row by row, and the add form. */
export function OrdersPage() {
  const { kind } = useTransportChoice();
  const client = useClient(OrderService);
  const [text, setText] = useState("");
  const [search, setSearch] = useState<Search | null>({ query: "", run: 0 });
  const [last, setLast] = useState<Search>({ query: "", run: 0 });
  const [rows, setRows] = useState<Order[]>([]);
  const [cancelled, setCancelled] = useState(false);

  const stream = useServerStream({
    key: search ? `${kind}|${search.run}|${search.query}` : null,
    open: ({ signal, onHeader }) => client.searchOrders({ query: search?.query ?? "" }, { signal, onHeader }),
    onOpen: () => setRows([]),
    onMessage: (res) => {
      const order = res.order;
      if (order) setRows((r) => [...r, order]);
    },
  });

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const next = { query: text.trim(), run: last.run + 1 };
    setLast(next);
    setCancelled(false);
    setSearch(next);
  };
  const cancel = () => {
    setCancelled(true);
    setSearch(null);
  };
  const refresh = () => {
    const next = { query: last.query, run: last.run + 1 };
    setLast(next);
    setCancelled(false);
    setSearch(next);
  };
  const streaming = stream.status === "live";

  let status;
  if (streaming) status = rows.length === 0 ? <Loading>Searching…</Loading> : <Loading>Streaming… {rows.length} so far</Loading>;
  else if (stream.status === "error") status = <ErrorMessage error={stream.error} prefix="Search failed" />;
  else if (cancelled) status = <p className="state" role="status">Search cancelled after {plural(rows.length, "order")}.</p>;
  else if (stream.status === "done")
    status = (
      <p className="state" role="status" data-testid="search-status">
        {plural(rows.length, "order")}
        {last.query ? ` with an item matching “${last.query}”` : ""}.
      </p>
    );

  return (
    <div className="page">
      <div className="page-head">
        <h1>Orders</h1>
        <p className="lede">Search streams matching orders from <code>SearchOrders</code>; rows appear as they arrive.</p>
      </div>
      <Panel title="Search" id="search">
        <form className="search-form" role="search" onSubmit={submit}>
          <label htmlFor="order-search" className="sr-only">
            Search items
          </label>
          <input
            id="order-search"
            type="search"
            placeholder="Search items, e.g. google"
            value={text}
            onChange={(e) => setText(e.target.value)}
          />
          <button type="submit" className="primary">
            Search
          </button>
          <button type="button" onClick={cancel} disabled={!streaming}>
            Cancel
          </button>
        </form>
        <div className="status-line" aria-live="polite">
          {status}
        </div>
        {rows.length > 0 ? (
          <div className="table-wrap">
            <table className="data" aria-label="Orders">
              <thead>
                <tr>
                  <th scope="col">ID</th>
                  <th scope="col">Items</th>
                  <th scope="col">Destination</th>
                  <th scope="col" className="num">
                    Price
                  </th>
                </tr>
              </thead>
              <tbody>
                {rows.map((o) => (
                  <tr key={o.id} data-testid="order-row">
                    <td>
                      <Link to={`/orders/${encodeURIComponent(o.id)}`}>{o.id}</Link>
                    </td>
                    <td>{o.items.join(", ")}</td>
                    <td>{o.destination}</td>
                    <td className="num">{formatCents(o.priceCents)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ) : stream.status === "done" || cancelled ? (
          <Empty>No orders{last.query ? ` match “${last.query}”` : " yet"}.</Empty>
        ) : null}
      </Panel>
      <Panel title="Add an order" id="add-order">
        <OrderForm onSaved={refresh} />
      </Panel>
    </div>
  );
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}
