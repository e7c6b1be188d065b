import { Code, ConnectError } from "@connectrpc/connect";
import { useQuery } from "@connectrpc/connect-query";
import { OrderService } from "@switchboard/gen/order/v1/order_pb.js";
import { useState } from "react";
import { ErrorMessage, Loading, Panel } from "../../components/status.tsx";
import { formatCents } from "../../lib/format.ts";
import { Link } from "../../lib/router.tsx";
import { OrderForm } from "./order-form.tsx";

/** One order (GetOrder), at the deep-linkable URL /orders/:id. */
export function OrderDetailPage({ id }: { id: string }) {
  const order = useQuery(OrderService.method.getOrder, { id });
  const [editing, setEditing] = useState(false);
  const [saved, setSaved] = useState(false);
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
    body = o && editing ? (
      <OrderForm
        key={`${o.id}-${order.dataUpdatedAt}`}
        order={o}
        onSaved={() => {
          setEditing(false);
          setSaved(true);
          void order.refetch();
        }}
        onCancel={() => setEditing(false)}
      />
    ) : o ? (
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
      <Panel
        title={editing ? "Edit" : "Details"}
        id="order"
        actions={
          order.isSuccess && order.data.order && !editing ? (
            <button
              type="button"
              onClick={() => {
                setSaved(false);
                setEditing(true);
              }}
            >
              Edit
            </button>
          ) : null
        }
      >
        {saved && !editing ? (
          <p className="state state-ok" role="status">
            Saved.
          </p>
        ) : null}
        {body}
      </Panel>
      {editing ? (
        <p className="footnote">
          Saving replaces the whole order with one unary <code>UpdateOrder</code> call.
        </p>
      ) : null}
    </div>
  );
}
