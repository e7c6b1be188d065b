import type { ReactNode } from "react";
import { describeError } from "../lib/errors.ts";

/** A panel: a titled card section. */
export function Panel({ title, id, actions, children }: { title: string; id?: string; actions?: ReactNode; children: ReactNode }) {
  const headingId = id ? `${id}-title` : undefined;
  return (
    <section className="panel" id={id} aria-labelledby={headingId}>
      <header className="panel-head">
        <h2 id={headingId}>{title}</h2>
        {actions ? <div className="panel-actions">{actions}</div> : null}
      </header>
      <div className="panel-body">{children}</div>
    </section>
  );
}

/** Loading placeholder with a spinner, announced to screen readers. */
export function Loading({ children = "Loading…" }: { children?: ReactNode }) {
  return (
    <p className="state state-loading" role="status">
      <span className="spinner" aria-hidden="true" /> {children}
    </p>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="state state-empty">{children}</p>;
}

/** An error from an RPC, as a sentence. */
export function ErrorMessage({ error, prefix }: { error: unknown; prefix?: string }) {
  return (
    <p className="state state-error" role="alert">
      {prefix ? `${prefix}: ` : ""}
      {describeError(error)}
    </p>
  );
}

export type Tone = "ok" | "warn" | "bad" | "info" | "muted";

export function Badge({ tone, children }: { tone: Tone; children: ReactNode }) {
  return <span className={`badge badge-${tone}`}>{children}</span>;
}
