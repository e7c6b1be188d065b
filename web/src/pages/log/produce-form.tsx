import { useMutation } from "@connectrpc/connect-query";
import { useState, type FormEvent } from "react";
import { LogService } from "@switchboard/gen/log/v1/log_pb.js";
import { describeError } from "../../lib/errors.ts";
import { FormActions, type FormResult } from "../../components/form-actions.tsx";

type Mode = "text" | "json";

const encoder = new TextEncoder();

/** Appends one record (Produce); JSON mode checks and compacts the JSON first. */
export function ProduceForm({ onProduced }: { onProduced(offset: bigint): void }) {
  const [mode, setMode] = useState<Mode>("text");
  const [value, setValue] = useState("");
  const [inputError, setInputError] = useState<string | undefined>();
  const [result, setResult] = useState<FormResult | undefined>();
  const produce = useMutation(LogService.method.produce);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    setResult(undefined);
    let text = value;
    if (mode === "json") {
      try {
        text = JSON.stringify(JSON.parse(value));
      } catch (err) {
        setInputError(`not valid JSON: ${(err as Error).message}`);
        return;
      }
    } else if (value === "") {
      setInputError("type a message");
      return;
    }
    setInputError(undefined);
    produce.mutate(
      { record: { value: encoder.encode(text) } },
      {
        onSuccess: (res) => {
          setResult({ ok: true, text: `Appended at offset ${res.offset}.` });
          setValue("");
          onProduced(res.offset);
        },
        onError: (err) => setResult({ ok: false, text: describeError(err) }),
      },
    );
  };

  return (
    <form className="form" onSubmit={submit} noValidate>
      <fieldset className="segmented small" aria-label="Record format">
        <legend className="sr-only">Record format</legend>
        {(["text", "json"] as const).map((m) => (
          <label key={m} className={m === mode ? "active" : undefined}>
            <input type="radio" name="produce-mode" value={m} checked={m === mode} onChange={() => setMode(m)} />
            {m === "text" ? "Text" : "JSON"}
          </label>
        ))}
      </fieldset>
      <div className="field">
        <label htmlFor="produce-value">{mode === "json" ? "JSON value" : "Message"}</label>
        <textarea
          id="produce-value"
          rows={3}
          className={mode === "json" ? "mono" : undefined}
          placeholder={mode === "json" ? '{"event": "signup", "user": 42}' : "hello, log"}
          value={value}
          onChange={(e) => setValue(e.target.value)}
          aria-invalid={inputError ? true : undefined}
          aria-describedby={inputError ? "produce-value-error" : undefined}
        />
        {inputError ? (
          <p className="field-error" id="produce-value-error">
            {inputError}
          </p>
        ) : null}
      </div>
      <FormActions
        pending={produce.isPending}
        label="Produce"
        pendingLabel="Producing…"
        result={result}
        resultTestId="produce-result"
      />
    </form>
  );
}
