import { Code, ConnectError } from "@connectrpc/connect";
import { useMutation } from "@connectrpc/connect-query";
import { useState, type FormEvent, type ReactNode } from "react";
import { OrderService } from "@gen/order/v1/order_pb.js";
import { describeError, violationsOf } from "../../lib/errors.ts";
import { parseDollars } from "../../lib/format.ts";
import { Link } from "../../lib/router.tsx";

/** Form state; items are edited as a list of inputs. */
interface Draft {
  id: string;
  items: string[];
  destination: string;
  description: string;
  price: string;
}

const emptyDraft: Draft = { id: "", items: [""], destination: "", description: "", price: "" };

/** Field errors by the server's field path without the "order." prefix: id, items, items[0], price_cents… */
type FieldErrors = Record<string, string>;

/**
 * Adds an order with AddOrder. There is no client-side validation of the
 * order itself: the server's google.rpc.BadRequest field violations are shown
 * next to the fields they name (paths like `order.items[0]`).
 */
export function AddOrderForm({ onAdded }: { onAdded(id: string): void }) {
  const [draft, setDraft] = useState<Draft>(emptyDraft);
  const [errors, setErrors] = useState<FieldErrors>({});
  const [formError, setFormError] = useState<string | undefined>();
  const [added, setAdded] = useState<string | undefined>();
  const add = useMutation(OrderService.method.addOrder);

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
    add.mutate(
      {
        order: {
          id: draft.id.trim(),
          items: draft.items,
          destination: draft.destination,
          description: draft.description,
          priceCents,
        },
      },
      {
        onSuccess: (res) => {
          setAdded(res.id);
          setDraft(emptyDraft);
          onAdded(res.id);
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
          } else if (err instanceof ConnectError && err.code === Code.AlreadyExists) {
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
    <form className="form" onSubmit={submit} noValidate aria-describedby={formError ? "add-order-error" : undefined}>
      {formError ? (
        <p className="state state-error" role="alert" id="add-order-error">
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
          <input id="order-id" value={draft.id} onChange={(e) => set("id", e.target.value)} autoComplete="off" {...idErr.props} />
          <p className="hint">Letters, digits, “-” and “_”.</p>
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
        <button type="submit" className="primary" disabled={add.isPending}>
          {add.isPending ? "Adding…" : "Add order"}
        </button>
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
