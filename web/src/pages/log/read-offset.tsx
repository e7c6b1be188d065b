import { useMutation } from "@connectrpc/connect-query";
import { useState, type FormEvent } from "react";
import { LogService, type Record as LogRecord } from "@switchboard/gen/log/v1/log_pb.js";
import { describeError, describeOutOfRange, offsetOutOfRangeOf } from "../../lib/errors.ts";
import { recordText } from "../../lib/format.ts";

/**
 * Reads the record at one offset (Consume). OUT_OF_RANGE is explained with
 * the OffsetOutOfRange detail: which offsets the log does hold.
 */
export function ReadOffset() {
  const [offset, setOffset] = useState("0");
  const [inputError, setInputError] = useState<string | undefined>();
  const [record, setRecord] = useState<LogRecord | undefined>();
  const [error, setError] = useState<string | undefined>();
  // A "mutation" only in TanStack terms: reading on demand, with a button.
  const consume = useMutation(LogService.method.consume);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    setRecord(undefined);
    setError(undefined);
    if (!/^\d+$/.test(offset.trim())) {
      setInputError("enter a whole number ≥ 0");
      return;
    }
    setInputError(undefined);
    consume.mutate(
      { offset: BigInt(offset.trim()) },
      {
        onSuccess: (res) => setRecord(res.record),
        onError: (err) => {
          const range = offsetOutOfRangeOf(err);
          if (range) {
            setError(describeOutOfRange(range));
          } else setError(describeError(err));
        },
      },
    );
  };

  const shown = record ? recordText(record.value) : undefined;
  return (
    <form className="form" onSubmit={submit} noValidate>
      <div className="field inline">
        <label htmlFor="read-offset">Offset</label>
        <input
          id="read-offset"
          inputMode="numeric"
          value={offset}
          onChange={(e) => setOffset(e.target.value)}
          aria-invalid={inputError ? true : undefined}
          aria-describedby={inputError ? "read-offset-error" : undefined}
        />
        <button type="submit" disabled={consume.isPending}>
          Read
        </button>
      </div>
      {inputError ? (
        <p className="field-error" id="read-offset-error">
          {inputError}
        </p>
      ) : null}
      <div aria-live="polite" data-testid="read-result">
        {consume.isPending ? <p className="state">Reading…</p> : null}
        {error ? (
          <p className="state state-error" role="alert">
            {error}
          </p>
        ) : null}
        {record && shown ? (
          <div className="record">
            <span className="record-offset">#{record.offset.toString()}</span>
            <code className={shown.json ? "json" : undefined}>{shown.text}</code>
          </div>
        ) : null}
      </div>
    </form>
  );
}
