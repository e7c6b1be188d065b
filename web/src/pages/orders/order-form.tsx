import { Code, ConnectError } from "@connectrpc/connect";
import { useMutation } from "@tanstack/react-query";
import { useState, type FormEvent, type ReactNode } from "react";
import { OrderService, type Order, type OrderSchema } from "@switchboard/gen/order/v1/order_pb.js";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { describeError, violationsOf } from "../../lib/errors.ts";
import { parseDollars } from "../../lib/format.ts";
import { Link } from "../../lib/router.tsx";
import { useClient } from "../../lib/use-client.ts";

/** Form state; items are edited as a list of inputs. */
interface Draft {
  id: string;
  items: string[];
  destination: string;
  description: string;
  price: string;
}

const emptyDraft: Draft = { id: "", items: [""], destination: "", description: "", price: "" };

function draftOf(order: Order): Draft {
  return {
    id: order.id,
    items: order.items.length > 0 ? [...order.items] : [""],
    destination: order.destination,
    description: order.description,
    price: (Number(order.priceCents) / 100).toFixed(2),
  };
}

/** Field errors by the server's field path without the "order." prefix: id, items, items[0], price_cents… */
type FieldErrors = Record<string, string>;

export interface OrderFormProps {
  /** Without an order the form adds one (AddOrder); with one it edits it (UpdateOrder). */
  order?: Order;
  onSaved(id: string): void;
  onCancel?(): void;
}

/**
 * Adds an order with AddOrder, or edits one with UpdateOrder. There is no
 * client-side validation of the order itself: the server's google.rpc.BadRequest field violations are
 * shown next to the fields they name (paths like `order.items[0]`).
 */
export function OrderForm({ order, onSaved, onCancel }: OrderFormProps) {
  const editing = order !== undefined;
  const client = useClient(OrderService);
  const [draft, setDraft] = useState<Draft>(() => (order ? draftOf(order) : emptyDraft));
  const [errors, setErrors] = useState<FieldErrors>({});
  const [formError, setFormError] = useState<string | undefined>();
  const [added, setAdded] = useState<string | undefined>();
  const save = useMutation({
    mutationFn: async (o: MessageInitShape<typeof OrderSchema>): Promise<string> => {
      if (editing) {
        const res = await client.updateOrder({ order: o });
        return res.order?.id ?? o.id ?? "";
      }
      const res = await client.addOrder({ order: o });
      return res.id;
    },
  });

  const set = <K extends keyof Draft>(key: K, value: Draft[K]) => setDraft((d) => ({ ...d, [key]: value }));

  const submit = (e: FormEvent) => {
    e.preventDefault();
    setAdded(undefined);
    setFormError(undefined);
    const priceCents = parseDollars(draft.price);
    if (priceCents === undefined) {
      setErrors({ price_cents: "enter an amount in dollars, like 12.50" });
      return;
    }
    setErrors({});
    save.mutate(
      {
        id: editing ? order.id : draft.id.trim(),
        items: draft.items,
        destination: draft.destination,
        description: draft.description,
        priceCents,
      },
      {
        onSuccess: (id) => {
          if (!editing) {
            setAdded(id);
            setDraft(emptyDraft);
          }
          onSaved(id);
        },
        onError: (err) => {
          const violations = violationsOf(err);
          if (violations.length > 0) {
            const byField: FieldErrors = {};
            const unplaced: string[] = [];
            for (const v of violations) {
              const key = v.field.replace(/^order\.?/, "");
              if (isShownField(key, draft.items.length)) byField[key] = joinMessage(byField[key], v.description);
              else unplaced.push(`${v.field}: ${v.description}`);
            }
            setErrors(byField);
            setFormError(
              `The server rejected the order; fix the fields marked below.${unplaced.length ? " " + unplaced.join("; ") : ""}`,
            );
          } else if (!editing && err instanceof ConnectError && err.code === Code.AlreadyExists) {
            setErrors({ id: "an order with this id already exists" });
          } else {
            setFormError(describeError(err));
          }
        },
      },
    );
  };

  const fieldError = (key: string, id: string): { props: object; node: ReactNode } => {
    const message = errors[key];
    return {
      props: message ? { "aria-invalid": true, "aria-describedby": `${id}-error` } : {},
      node: message ? (
        <p className="field-error" id={`${id}-error`}>
          {message}
        </p>
      ) : null,
    };
  };
  const idErr = fieldError("id", "order-id");
  const itemsErr = fieldError("items", "order-items");
  const destErr = fieldError("destination", "order-destination");
  const descErr = fieldError("description", "order-description");
  const priceErr = fieldError("price_cents", "order-price");

  return (
    <form
      className="form"
      onSubmit={submit}
      noValidate
      aria-label={editing ? `Edit order ${order.id}` : "Add an order"}
      aria-describedby={formError ? "order-form-error" : undefined}
    >
      {formError ? (
        <p className="state state-error" role="alert" id="order-form-error">
          {formError}
        </p>
      ) : null}
      {added ? (
        <p className="state state-ok" role="status">
          Order <Link to={`/orders/${encodeURIComponent(added)}`}>{added}</Link> added.
        </p>
      ) : null}
      <div className="form-grid">
        <div className="field">
          <label htmlFor="order-id">Order ID</label>
          <input
            id="order-id"
            value={draft.id}
            onChange={(e) => set("id", e.target.value)}
            autoComplete="off"
            readOnly={editing}
            {...idErr.props}
          />
          <p className="hint">{editing ? "The id cannot change." : "Letters, digits, “-” and “_”."}</p>
          {idErr.node}
        </div>
        <div className="field">
          <label htmlFor="order-destination">Destination</label>
          <input
            id="order-destination"
            value={draft.destination}
            onChange={(e) => set("destination", e.target.value)}
            {...destErr.props}
          />
          {destErr.node}
        </div>
        <div className="field">
          <label htmlFor="order-price">Price (USD)</label>
          <input
            id="order-price"
            inputMode="decimal"
            placeholder="0.00"
            value={draft.price}
            onChange={(e) => set("price", e.target.value)}
            {...priceErr.props}
          />
          {priceErr.node}
        </div>
        <fieldset className="field field-wide items" {...itemsErr.props}>
          <legend>Items</legend>
          {draft.items.map((item, i) => {
            const err = fieldError(`items[${i}]`, `order-items-${i}`);
            return (
              <div className="item-row" key={i}>
                <label htmlFor={`order-items-${i}`} className="sr-only">
                  Item {i + 1}
                </label>
                <input
                  id={`order-items-${i}`}
                  placeholder={`Item ${i + 1}`}
                  value={item}
                  onChange={(e) => set("items", draft.items.map((x, j) => (j === i ? e.target.value : x)))}
                  {...err.props}
                />
                <button
                  type="button"
                  className="ghost"
                  aria-label={`Remove item ${i + 1}`}
                  onClick={() => set("items", draft.items.filter((_, j) => j !== i))}
                >
                  Remove
                </button>
                {err.node}
              </div>
            );
          })}
          {itemsErr.node}
          <button type="button" className="ghost add-item" onClick={() => set("items", [...draft.items, ""])}>
            + Add item
          </button>
        </fieldset>
        <div className="field field-wide">
          <label htmlFor="order-description">Description</label>
          <textarea
            id="order-description"
            rows={2}
            value={draft.description}
            onChange={(e) => set("description", e.target.value)}
            {...descErr.props}
          />
          {descErr.node}
        </div>
      </div>
      <div className="form-actions">
        <button type="submit" className="primary" disabled={save.isPending}>
          {editing ? (save.isPending ? "Saving…" : "Save changes") : save.isPending ? "Adding…" : "Add order"}
        </button>
        {onCancel ? (
          <button type="button" onClick={onCancel}>
            Cancel
          </button>
        ) : null}
      </div>
    </form>
  );
}

function isShownField(key: string, itemCount: number): boolean {
  if (["id", "items", "destination", "description", "price_cents"].includes(key)) return true;
  const m = /^items\[(\d+)\]$/.exec(key);
  return m !== null && Number(m[1]) < itemCount;
}

function joinMessage(a: string | undefined, b: string): string {
  return a ? `${a}; ${b}` : b;
}
