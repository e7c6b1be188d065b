import { Code, ConnectError } from "@connectrpc/connect";
import { useQuery } from "@connectrpc/connect-query";
import { OrderService } from "@gen/order/v1/order_pb.js";
import { ErrorMessage, Loading, Panel } from "../../components/status.tsx";
import { formatCents } from "../../lib/format.ts";
import { Link } from "../../lib/router.tsx";

/** One order (GetOrder), at the deep-linkable URL /orders/:id. */
export function OrderDetailPage({ id }: { id: string }) {
  const order = useQuery(OrderService.method.getOrder, { id });
  let body;
  if (order.isPending) body = <Loading>Loading order {id}…</Loading>;
  else if (order.isError) {
    body =
      order.error instanceof ConnectError && order.error.code === Code.NotFound ? (
        <p className="state state-empty" role="alert">
          There is no order with id <code>{id}</code>.
        </p>
      ) : (
        <ErrorMessage error={order.error} prefix="Could not load the order" />
      );
  } else {
    const o = order.data.order;
    body = o ? (
      <dl className="details" data-testid="order-detail">
        <dt>ID</dt>
        <dd>{o.id}</dd>
        <dt>Items</dt>
        <dd>
          <ul className="plain">
            {o.items.map((item, i) => (
              <li key={i}>{item}</li>
            ))}
          </ul>
        </dd>
        <dt>Destination</dt>
        <dd>{o.destination}</dd>
        <dt>Price</dt>
        <dd>{formatCents(o.priceCents)}</dd>
        <dt>Description</dt>
        <dd>{o.description || <span className="muted">none</span>}</dd>
      </dl>
    ) : (
      <p className="state state-empty">The server returned no order.</p>
    );
  }
  return (
    <div className="page">
      <div className="page-head">
        <p className="crumbs">
          <Link to="/orders">← All orders</Link>
        </p>
        <h1>Order {id}</h1>
      </div>
      <Panel title="Details" id="order" actions={order.isFetching && !order.isPending ? <span className="muted">Refreshing…</span> : null}>
        {body}
      </Panel>
      <p className="footnote">
        Editing needs <code>UpdateOrders</code>, a client-streaming RPC that browsers cannot call; use the CLI or any
        gRPC client to change an order.
      </p>
    </div>
  );
}
