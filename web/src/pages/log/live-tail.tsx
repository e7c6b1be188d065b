import { useEffect, useRef, useState, type FormEvent } from "react";
import { LogService } from "@switchboard/gen/log/v1/log_pb.js";
import { Badge, Empty, Panel } from "../../components/status.tsx";
import { describeError, describeOutOfRange, offsetOutOfRangeOf } from "../../lib/errors.ts";
import { recordText } from "../../lib/format.ts";
import { useTransportChoice } from "../../lib/transport-context.tsx";
import { useServerStream } from "../../lib/use-stream.ts";
import { useClient } from "../../lib/use-client.ts";

interface Row {
  offset: bigint;
  text: string;
  json: boolean;
  size: number;
}

/** Rows kept on screen; older ones are dropped. */
const maxRows = 1000;

/**
 * Live tail: ConsumeStream from a chosen offset, appending rows as records
 * arrive. Pause cancels the stream; resume opens a new one at the next
 * offset, so nothing is missed or shown twice. Reconnects after outages.
 */
export function LiveTail({ lowest }: { lowest: bigint | undefined }) {
  const { kind } = useTransportChoice();
  const client = useClient(LogService);
  const [from, setFrom] = useState("0");
  const [fromError, setFromError] = useState<string | undefined>();
  const [run, setRun] = useState<number | null>(null);
  const [rows, setRows] = useState<Row[]>([]);
  const [started, setStarted] = useState(false);
  const position = useRef(0n);
  const listRef = useRef<HTMLDivElement>(null);

  const stream = useServerStream({
    key: run === null ? null : `${kind}|${run}`,
    reconnect: true,
    open: ({ signal, onHeader }) => client.consumeStream({ offset: position.current }, { signal, onHeader }),
    onMessage: (res) => {
      const rec = res.record;
      if (!rec) return;
      position.current = rec.offset + 1n;
      const shown = recordText(rec.value);
      setRows((r) => {
        const next = [...r, { offset: rec.offset, text: shown.text, json: shown.json, size: rec.value.length }];
        return next.length > maxRows ? next.slice(next.length - maxRows) : next;
      });
    },
  });

  // Keep the newest row in view while following.
  useEffect(() => {
    const el = listRef.current;
    if (el && run !== null) el.scrollTop = el.scrollHeight;
  }, [rows, run]);

  const start = (e: FormEvent) => {
    e.preventDefault();
    if (!/^\d+$/.test(from.trim())) {
      setFromError("enter a whole number ≥ 0");
      return;
    }
    setFromError(undefined);
    position.current = BigInt(from.trim());
    setRows([]);
    setStarted(true);
    setRun((r) => (r ?? 0) + 1);
  };
  const pause = () => setRun(null);
  const resume = () => setRun(Date.now());
  const running = run !== null;

  let badge;
  if (!started) badge = <Badge tone="muted">Stopped</Badge>;
  else if (!running) badge = <Badge tone="warn">Paused</Badge>;
  else if (stream.status === "live") badge = <Badge tone="ok">Live</Badge>;
  else if (stream.status === "reconnecting") badge = <Badge tone="warn">Reconnecting…</Badge>;
  else if (stream.status === "error") badge = <Badge tone="bad">Stopped by error</Badge>;
  else if (stream.status === "idle") badge = <Badge tone="warn">Paused while hidden</Badge>;
  else badge = <Badge tone="muted">Ended</Badge>;

  const range = stream.status === "error" ? offsetOutOfRangeOf(stream.error) : undefined;
  return (
    <Panel title="Live tail" id="tail" actions={<span data-testid="tail-status">{badge}</span>}>
      <form className="tail-controls" onSubmit={start} noValidate>
        <div className="field inline">
          <label htmlFor="tail-from">From offset</label>
          <input
            id="tail-from"
            inputMode="numeric"
            value={from}
            onChange={(e) => setFrom(e.target.value)}
            aria-invalid={fromError ? true : undefined}
            aria-describedby={fromError ? "tail-from-error" : "tail-from-hint"}
          />
          <button type="submit" className="primary">
            {started ? "Restart" : "Start tail"}
          </button>
          {started && running ? (
            <button type="button" onClick={pause}>
              Pause
            </button>
          ) : null}
          {started && !running ? (
            <button type="button" onClick={resume}>
              Resume
            </button>
          ) : null}
          <button type="button" className="ghost" onClick={() => setRows([])} disabled={rows.length === 0}>
            Clear
          </button>
        </div>
        {fromError ? (
          <p className="field-error" id="tail-from-error">
            {fromError}
          </p>
        ) : (
          <p className="hint" id="tail-from-hint">
            {lowest !== undefined ? `The oldest retained record is at offset ${lowest}.` : "Records appear here as they are produced."}
            {started && running ? ` Next expected offset: ${position.current}.` : ""}
          </p>
        )}
      </form>
      {stream.status === "error" ? (
        <p className="state state-error" role="alert">
          {range ? describeOutOfRange(range) : describeError(stream.error)}
        </p>
      ) : null}
      {stream.status === "reconnecting" && stream.error ? (
        <p className="state state-warn" role="status">
          Lost the stream ({describeError(stream.error)}); reconnecting from offset {position.current.toString()}…
        </p>
      ) : null}
      <div className="tail" ref={listRef} role="log" aria-label="Log records" aria-live="polite">
        {rows.length === 0 ? (
          <Empty>{started ? "Waiting for records…" : "Start the tail to follow the log."}</Empty>
        ) : (
          <table className="data compact">
            <thead>
              <tr>
                <th scope="col" className="num narrow">
                  Offset
                </th>
                <th scope="col">Value</th>
                <th scope="col" className="num narrow">
                  Bytes
                </th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr key={r.offset.toString()} data-testid="tail-row">
                  <td className="num mono narrow">{r.offset.toString()}</td>
                  <td>
                    <code className={r.json ? "json" : "text"}>{r.text}</code>
                  </td>
                  <td className="num muted narrow">{r.size}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>
    </Panel>
  );
}
