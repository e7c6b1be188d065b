/** What a form reports after its call: shown next to its submit button. */
export interface FormResult {
  ok: boolean;
  text: string;
}

/**
 * A form's submit button (disabled and relabelled while the call runs) and
 * the outcome of the last call, announced to screen readers.
 */
export function FormActions(props: {
  pending: boolean;
  label: string;
  pendingLabel: string;
  result: FormResult | undefined;
  /** data-testid of the outcome, for the end-to-end tests. */
  resultTestId: string;
}) {
  const { pending, label, pendingLabel, result, resultTestId } = props;
  return (
    <div className="form-actions">
      <button type="submit" className="primary" disabled={pending}>
        {pending ? pendingLabel : label}
      </button>
      {result ? (
        <span className={result.ok ? "inline-ok" : "inline-error"} role={result.ok ? "status" : "alert"} data-testid={resultTestId}>
          {result.text}
        </span>
      ) : null}
    </div>
  );
}
